package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
)

// DecodeJSON decodes the request body into v strictly: Content-Type application/json (415
// otherwise), no unknown fields, no trailing data (400 invalid_json). With optional set, an
// empty body leaves v untouched.
func DecodeJSON(c *fiber.Ctx, v any, optional bool) error {
	return decodeBody(c, v, optional, true)
}

// DecodeJSONCompat is DecodeJSON that ignores unknown fields, for the node API whose bodies
// may gain fields in newer daemons.
func DecodeJSONCompat(c *fiber.Ctx, v any) error {
	return decodeBody(c, v, false, false)
}

func decodeBody(c *fiber.Ctx, v any, optional, strict bool) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return apierr.InvalidJSON("request body is empty", nil)
	}
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return apierr.New(apierr.CodeUnsupportedMediaType, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.InvalidJSON("unexpected data after the JSON value", nil)
	}
	return nil
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return apierr.InvalidJSON(fmt.Sprintf("malformed JSON at offset %d", syn.Offset), nil)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apierr.InvalidJSON(fmt.Sprintf("the body must be a JSON object, not %s", typ.Value), nil)
		}
		return apierr.InvalidJSON(fmt.Sprintf("field %q must be %s", field, jsonType(typ.Type.Kind().String())),
			map[string]string{field: "must be " + jsonType(typ.Type.Kind().String())})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apierr.InvalidJSON("malformed JSON: unexpected end of input", nil)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return apierr.InvalidJSON(fmt.Sprintf("unknown field %q", name), map[string]string{name: "unknown field"})
	}
	return apierr.InvalidJSON("malformed JSON: "+err.Error(), nil)
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer in range"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice":
		return "an array"
	}
	return "a " + kind
}

// paging reads page (≥1, default 1) and per_page (1..100, default 20).
func paging(c *fiber.Ctx) (int, int, error) {
	fields := map[string]string{}
	page, perPage := 1, 20
	if s := c.Query("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			fields["page"] = "must be an integer from 1"
		}
		page = n
	}
	if s := c.Query("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fields["per_page"] = "must be an integer from 1 to 100"
		}
		perPage = n
	}
	if len(fields) > 0 {
		return 0, 0, apierr.Validation(fields)
	}
	return page, perPage, nil
}
