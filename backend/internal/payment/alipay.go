package payment

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
)

// Alipay's fixed request parameters.
const (
	alipayMethod      = "alipay.trade.page.pay"
	alipayProductCode = "FAST_INSTANT_TRADE_PAY"
	alipayTimeLayout  = "2006-01-02 15:04:05"
	// alipayMaxAmount is Alipay's largest total_amount, 100000000.00 CNY, in fen.
	alipayMaxAmount = 10_000_000_000
)

// alipayZone is Beijing time (UTC+8, no daylight saving), the zone of Alipay's timestamps.
var alipayZone = time.FixedZone("CST", 8*3600)

// Alipay is Alipay's computer-website payment: the payer is sent to the gateway with the
// signed alipay.trade.page.pay parameters (no call from the panel), pays in CNY, and Alipay
// posts a signed asynchronous notification to notify_url.
type Alipay struct {
	appID     string
	key       *rsa.PrivateKey
	alipayKey *rsa.PublicKey
	gateway   string
	tolerance time.Duration
	publicURL string
	subject   string
	now       func() time.Time
}

// Name implements Gateway.
func (g *Alipay) Name() string { return api.GatewayAlipay }

// Enabled implements Gateway: the app id, the app's private key and Alipay's public key are
// set.
func (g *Alipay) Enabled() bool { return g.appID != "" && g.key != nil && g.alipayKey != nil }

// Currencies implements Gateway: Alipay page pay settles in CNY only.
func (g *Alipay) Currencies() []string { return []string{"CNY"} }

// MaxAmount implements Gateway: 100000000.00 CNY.
func (g *Alipay) MaxAmount(string) int64 { return alipayMaxAmount }

// alipayContent is the string Alipay signs: the parameters sorted by key as "k=v" joined by
// "&", leaving out empty values and the excluded keys. Values are the decoded values.
func alipayContent(params url.Values, exclude ...string) string {
	keys := make([]string, 0, len(params))
	for k, vs := range params {
		if len(vs) == 0 || vs[0] == "" || k == "sign" || slices.Contains(exclude, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	return b.String()
}

// SignAlipay signs params (RSA2: RSA PKCS #1 v1.5 over SHA-256 of the sorted content, base64)
// with key and returns the signature, as the panel signs requests and Alipay notifications.
func SignAlipay(params url.Values, key *rsa.PrivateKey) (string, error) {
	sum := sha256.Sum256([]byte(alipayContent(params)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign alipay parameters: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

type alipayBiz struct {
	OutTradeNo  string `json:"out_trade_no"`
	TotalAmount string `json:"total_amount"`
	Subject     string `json:"subject"`
	ProductCode string `json:"product_code"`
}

// checkoutParams are the signed alipay.trade.page.pay parameters of p at now.
func (g *Alipay) checkoutParams(p Payment, now time.Time) (url.Values, error) {
	biz, err := json.Marshal(alipayBiz{OutTradeNo: p.ID, TotalAmount: decimal(p.Amount, p.Currency),
		Subject: g.subject, ProductCode: alipayProductCode})
	if err != nil {
		return nil, fmt.Errorf("alipay biz_content: %w", err)
	}
	v := url.Values{}
	v.Set("app_id", g.appID)
	v.Set("method", alipayMethod)
	v.Set("format", "JSON")
	v.Set("charset", "utf-8")
	v.Set("sign_type", "RSA2")
	v.Set("timestamp", now.In(alipayZone).Format(alipayTimeLayout))
	v.Set("version", "1.0")
	v.Set("notify_url", strings.TrimRight(g.publicURL, "/")+api.PathAlipayNotify)
	v.Set("return_url", returnURL(g.publicURL, p.ID, "return"))
	v.Set("biz_content", string(biz))
	sig, err := SignAlipay(v, g.key)
	if err != nil {
		return nil, err
	}
	v.Set("sign", sig)
	return v, nil
}

// Checkout implements Gateway: the gateway URL with the signed page-pay parameters as its
// query. It makes no call; the clock is read for the signed timestamp.
func (g *Alipay) Checkout(_ context.Context, p Payment) (Redirect, error) {
	if p.Currency != "CNY" {
		return Redirect{}, &GatewayError{Gateway: "Alipay", Message: "Alipay takes CNY only"}
	}
	v, err := g.checkoutParams(p, g.now())
	if err != nil {
		return Redirect{}, &GatewayError{Gateway: "Alipay", Message: "the payment could not be signed", Err: err}
	}
	sep := "?"
	if strings.Contains(g.gateway, "?") {
		sep = "&"
	}
	return Redirect{URL: g.gateway + sep + v.Encode()}, nil
}

// Verify implements Gateway for Alipay's asynchronous notification (a form POST): the RSA2
// signature over every parameter but sign and sign_type with Alipay's public key, app_id,
// and notify_time no older than the tolerance. TRADE_SUCCESS and TRADE_FINISHED are
// OutcomePaid, TRADE_CLOSED OutcomeExpired, anything else OutcomeNone.
func (g *Alipay) Verify(d Delivery, now time.Time) (Notification, error) {
	if mt, _, err := mime.ParseMediaType(d.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return Notification{}, apierr.New(apierr.CodeUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded")
	}
	params, err := url.ParseQuery(string(d.Body))
	if err != nil {
		return Notification{}, apierr.InvalidJSON("the notification is not a valid form body", nil)
	}
	for k, vs := range params {
		if len(vs) != 1 {
			return Notification{}, badSignature("the notification repeats the parameter " + k)
		}
	}
	sig, err := base64.StdEncoding.DecodeString(params.Get("sign"))
	if err != nil || len(sig) == 0 {
		return Notification{}, badSignature("the notification has no base64 sign")
	}
	if st := params.Get("sign_type"); st != "" && st != "RSA2" {
		return Notification{}, badSignature("sign_type must be RSA2")
	}
	sum := sha256.Sum256([]byte(alipayContent(params, "sign_type")))
	if err := rsa.VerifyPKCS1v15(g.alipayKey, crypto.SHA256, sum[:], sig); err != nil {
		return Notification{}, badSignature("the notification's signature does not verify with Alipay's public key")
	}
	if params.Get("app_id") != g.appID {
		return Notification{}, badSignature("the notification is for another app_id")
	}
	at, err := time.ParseInLocation(alipayTimeLayout, params.Get("notify_time"), alipayZone)
	if err != nil {
		return Notification{}, badSignature("notify_time is not a \"yyyy-MM-dd HH:mm:ss\" time")
	}
	if age := now.Sub(at); age > g.tolerance || age < -g.tolerance {
		return Notification{}, badSignature(fmt.Sprintf("notify_time is %s away from now, outside the %s tolerance: a replayed or delayed notification",
			age.Round(time.Second), g.tolerance))
	}
	n := Notification{EventID: params.Get("notify_id"), PaymentID: params.Get("out_trade_no"),
		ExternalID: params.Get("trade_no"), Currency: "CNY", Type: params.Get("trade_status")}
	if n.EventID == "" || n.PaymentID == "" {
		return Notification{}, apierr.InvalidJSON("the notification has no notify_id or out_trade_no", nil)
	}
	switch n.Type {
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		n.Outcome = OutcomePaid
		if n.ExternalID == "" {
			return Notification{}, apierr.InvalidJSON("the paid notification has no trade_no", nil)
		}
		if n.Amount, err = parseDecimal(params.Get("total_amount"), "CNY"); err != nil {
			return Notification{}, apierr.InvalidJSON("total_amount is not an amount of CNY such as 12.34", nil)
		}
	case "TRADE_CLOSED":
		n.Outcome = OutcomeExpired
	}
	return n, nil
}

// parsePrivateKey reads an RSA private key: PEM (PKCS #1 "RSA PRIVATE KEY" or PKCS #8
// "PRIVATE KEY") or the bare base64 DER that Alipay's key tool prints.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #1 or PKCS #8 private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// parsePublicKey reads an RSA public key: PEM ("PUBLIC KEY" or "RSA PUBLIC KEY") or the bare
// base64 DER that Alipay's console shows.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX or PKCS #1 public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

func keyDER(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		b, _ := pem.Decode([]byte(s))
		if b == nil {
			return nil, errors.New("malformed PEM")
		}
		return b.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("neither PEM nor base64: %w", err)
	}
	return der, nil
}
