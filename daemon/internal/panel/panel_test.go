package panel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/daemon/api"
)

func TestRetriesAndErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		statuses   []int // answers in order; the last repeats
		wantCalls  int32
		wantErr    bool
		permanent  bool
		wantCode   string
		wantStatus int
	}{
		{"ok first", []int{200}, 1, false, false, "", 0},
		{"5xx then ok", []int{503, 502, 200}, 3, false, false, "", 0},
		{"429 then ok", []int{429, 200}, 2, false, false, "", 0},
		{"4xx permanent", []int{404}, 1, true, true, "not_found", 404},
		{"401 permanent", []int{401}, 1, true, true, "unauthorized", 401},
		{"5xx exhausted", []int{500}, 4, true, false, "internal", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				st := tt.statuses[min(n, len(tt.statuses)-1)]
				if r.Header.Get("Authorization") != "Bearer cred" {
					t.Errorf("auth header %q", r.Header.Get("Authorization"))
				}
				if st != 200 {
					w.Header().Set("X-Request-ID", "hdr-id")
					w.WriteHeader(st)
					code := map[int]string{404: "not_found", 401: "unauthorized", 500: "internal"}[st]
					_ = json.NewEncoder(w).Encode(api.Error{Error: api.ErrorBody{Code: code, Message: "nope"}, RequestID: "req-1"})
					return
				}
				_ = json.NewEncoder(w).Encode(api.OperationInfo{ID: "op-1", Status: api.OpRunning})
			}))
			defer srv.Close()
			c, err := New(srv.URL, "cred", WithRetry(4, time.Millisecond, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Operation(context.Background(), "op-1")
			if calls.Load() != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tt.wantCalls)
			}
			if !tt.wantErr {
				if err != nil || info.ID != "op-1" {
					t.Fatalf("info %+v err %v", info, err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v is not *Error", err)
			}
			if pe.Status != tt.wantStatus || pe.Code != tt.wantCode || pe.Message != "nope" || pe.RequestID != "req-1" {
				t.Fatalf("error %+v", pe)
			}
			if IsPermanent(err) != tt.permanent {
				t.Fatalf("IsPermanent = %v", IsPermanent(err))
			}
		})
	}
}

func TestNetworkErrorRetriesBoundedByContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	c, err := New(url, "cred", WithRetry(1000, 10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Result(ctx, "op-1", api.Result{Status: api.OpSuccess})
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("retries outlived the context: %s", d)
	}
}

func TestPathsAndBodies(t *testing.T) {
	t.Parallel()
	type seen struct{ method, path, auth string }
	got := make(chan seen, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization")}
		switch r.URL.Path {
		case api.PathJoin:
			var req api.JoinRequest
			_ = json.NewDecoder(r.Body).Decode(&req)
			_ = json.NewEncoder(w).Encode(api.JoinResponse{NodeID: "n1", Credential: "c-" + req.Token})
		case api.PathInstances:
			_ = json.NewEncoder(w).Encode(api.DesiredState{Instances: []api.DesiredInstance{{InstanceID: "i1", IncusName: "a-1"}}})
		case api.PathHeartbeat:
			_ = json.NewEncoder(w).Encode(api.HeartbeatResponse{HeartbeatIntervalSeconds: 7})
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/", "cred")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	jr, err := c.Join(ctx, api.JoinRequest{Token: "tok"})
	if err != nil || jr.Credential != "c-tok" {
		t.Fatalf("join %+v %v", jr, err)
	}
	hb, err := c.Heartbeat(ctx, api.Heartbeat{})
	if err != nil || hb.HeartbeatIntervalSeconds != 7 {
		t.Fatalf("heartbeat %+v %v", hb, err)
	}
	if err := c.Progress(ctx, "op/1", api.Progress{Progress: 10}); err != nil {
		t.Fatal(err)
	}
	if err := c.Result(ctx, "op-2", api.Result{Status: api.OpSuccess}); err != nil {
		t.Fatal(err)
	}
	ds, err := c.DesiredInstances(ctx)
	if err != nil || len(ds.Instances) != 1 {
		t.Fatalf("desired %+v %v", ds, err)
	}
	if err := c.Drift(ctx, api.DriftReport{}); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"POST", api.PathJoin, ""},
		{"POST", api.PathHeartbeat, "Bearer cred"},
		{"POST", "/node/v1/operations/op/1/progress", "Bearer cred"},
		{"POST", "/node/v1/operations/op-2/result", "Bearer cred"},
		{"GET", api.PathInstances, "Bearer cred"},
		{"POST", api.PathDrift, "Bearer cred"},
	}
	for i, w := range want {
		g := <-got
		if g != w {
			t.Errorf("call %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "panel.example.com", "ftp://x", "http://"} {
		if _, err := New(u, "c"); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
