package app_test

import (
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

func BenchmarkListServers(b *testing.B) {
	db := testenv.Postgres(b)
	e := newEnv(b, db)
	admin := e.login("admin@example.com", api.RoleAdmin)
	cust := e.login("cust@example.com", api.RoleCustomer)
	hb := defaultHeartbeat()
	hb.Resources.CPUs = 64
	e.addNode(admin, "n1", hb)
	for i := range 20 {
		cust.must(202, "POST", "/api/v1/servers", validServer(fmt.Sprintf("s%d", i)), nil)
	}
	var tok api.Token
	cust.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "b", Scopes: []string{api.ScopeServersRead}}, &tok)
	h := e.app.Handler().Handler()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/api/v1/servers")
			ctx.Request.Header.SetMethod("GET")
			ctx.Request.Header.Set("Authorization", "Bearer "+tok.Secret)
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatal(ctx.Response.StatusCode())
			}
		}
	})
}
