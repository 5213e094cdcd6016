package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// promAnswer serves a fixed Prometheus /api/v1/query response.
func promAnswer(t *testing.T, code int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func vector(samples ...string) string {
	body := `{"status":"success","data":{"resultType":"vector","result":[`
	for i, s := range samples {
		if i > 0 {
			body += ","
		}
		body += fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[1700000000,%q]}`, i, s)
	}
	return body + `]}}`
}

func TestPrometheusQuery(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		body    string
		want    float64
		wantErr error
	}{
		{name: "scalar", code: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.25"]}}`, want: 0.25},
		{name: "one-element vector", code: 200, body: vector("0.004"), want: 0.004},
		{name: "+Inf is a value", code: 200, body: vector("+Inf"), want: posInf},
		{name: "empty vector", code: 200, body: vector(), wantErr: ErrNoData},
		{name: "NaN", code: 200, body: vector("NaN"), wantErr: ErrNaN},
		{name: "two series", code: 200, body: vector("1", "2"), wantErr: ErrNotScalar},
		{name: "matrix", code: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, wantErr: ErrNotScalar},
		{name: "bad query", code: 400, body: `{"status":"error","errorType":"bad_data","error":"parse error"}`, wantErr: ErrBadQuery},
		{name: "server error", code: 500, body: `internal error`, wantErr: ErrUnavailable},
		{name: "unavailable", code: 503, body: `{"status":"error","errorType":"unavailable","error":"starting"}`, wantErr: ErrUnavailable},
		{name: "not prometheus", code: 404, body: `not found`, wantErr: ErrUnavailable},
		{name: "success without data", code: 200, body: `{"status":"success"}`, wantErr: ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPrometheus(promAnswer(t, tc.code, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Query(context.Background(), "up")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Query() = %v, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Query() = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPrometheusUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	p, err := NewPrometheus(addr, WithQueryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(context.Background(), "up"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Query() error = %v, want ErrUnavailable", err)
	}
}

func TestPrometheusSendsQueryAndTime(t *testing.T) {
	at := time.Unix(1700000000, 0)
	var gotQuery, gotTime string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotQuery, gotTime = r.Form.Get("query"), r.Form.Get("time")
		fmt.Fprint(w, vector("1"))
	}))
	defer srv.Close()
	p, err := NewPrometheus(srv.URL, WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(context.Background(), `sum(up{job="x"})`); err != nil {
		t.Fatal(err)
	}
	if gotQuery != `sum(up{job="x"})` || gotTime != "1700000000" {
		t.Errorf("sent query=%q time=%q", gotQuery, gotTime)
	}
}

func TestNewPrometheusBadAddress(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1:9090", "ftp://x", "http://", "http://a b"} {
		t.Run(addr, func(t *testing.T) {
			if _, err := NewPrometheus(addr); err == nil {
				t.Errorf("NewPrometheus(%q) accepted it", addr)
			}
		})
	}
}

func TestPrometheusQueryVector(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		body    string
		want    int // series
		wantErr error
	}{
		{name: "two series", code: 200, body: vector("1", "1"), want: 2},
		{name: "empty vector is no series, not no data", code: 200, body: vector(), want: 0},
		{name: "scalar", code: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`, wantErr: ErrNotVector},
		{name: "matrix", code: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, wantErr: ErrNotVector},
		{name: "no result type", code: 200, body: `{"status":"success","data":{}}`, wantErr: ErrUnavailable},
		{name: "success without data", code: 200, body: `{"status":"success"}`, wantErr: ErrUnavailable},
		{name: "bad query", code: 400, body: `{"status":"error","errorType":"bad_data","error":"parse error"}`, wantErr: ErrBadQuery},
		{name: "server error", code: 500, body: `internal error`, wantErr: ErrUnavailable},
		{name: "not JSON", code: 200, body: `<html>login</html>`, wantErr: ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPrometheus(promAnswer(t, tc.code, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.QueryVector(context.Background(), "up")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("QueryVector() = %v, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("QueryVector() = %v, %v; want %d series", got, err, tc.want)
			}
			for i, s := range got {
				if want := fmt.Sprintf("p%d", i); s.Labels["pod"] != want || s.Value != 1 {
					t.Errorf("series %d = %+v, want pod %s and value 1", i, s, want)
				}
			}
		})
	}
}
