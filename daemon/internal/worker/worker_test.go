package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	other := errors.New("boom")
	tests := []struct {
		n    int
		err  error
		want time.Duration
	}{
		{0, other, time.Second},
		{1, other, 2 * time.Second},
		{2, other, 4 * time.Second},
		{4, other, 16 * time.Second},
		{5, other, 30 * time.Second},
		{50, other, 30 * time.Second},
		{-1, other, time.Second},
		{3, asynq.ErrLeaseExpired, 0},
	}
	for _, tt := range tests {
		if got := RetryDelay(tt.n, tt.err, nil); got != tt.want {
			t.Errorf("RetryDelay(%d, %v) = %s, want %s", tt.n, tt.err, got, tt.want)
		}
	}
}

func TestFailureMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{permanent(errors.New("KVM is not available")), "KVM is not available"},
		{errors.New("plain"), "plain"},
		{fmt.Errorf("wrapped: %w", permanent(errors.New("x"))), "wrapped: x"},
	}
	for _, tt := range tests {
		if got := FailureMessage(tt.err); got != tt.want {
			t.Errorf("FailureMessage(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestInvalidPayloadSkipsRetry needs no Incus: decoding fails before any Incus call.
func TestInvalidPayloadSkipsRetry(t *testing.T) {
	t.Parallel()
	fake := testenv.NewPanel(t, "cred")
	w, err := New(Config{NodeID: "node-1"}, nil, nil, fake.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, typ, payload string
	}{
		{"create not json", jobs.TypeInstanceCreate, `{`},
		{"create empty", jobs.TypeInstanceCreate, `{}`},
		{"create bad type", jobs.TypeInstanceCreate, `{"v":1,"operation_id":"0b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","instance_id":"1b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","incus_name":"web-1","type":"pod","image":"busybox","cpu":1,"memory_mib":64,"disk_mib":128}`},
		{"create zero cpu", jobs.TypeInstanceCreate, `{"v":1,"operation_id":"0b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","instance_id":"1b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","incus_name":"web-1","type":"container","image":"busybox","cpu":0,"memory_mib":64,"disk_mib":128}`},
		{"start not json", jobs.TypeInstanceStart, `[]`},
		{"stop bad name", jobs.TypeInstanceStop, `{"v":1,"operation_id":"0b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","instance_id":"1b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","incus_name":"Bad_Name"}`},
		{"delete no version", jobs.TypeInstanceDelete, `{"operation_id":"0b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","instance_id":"1b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","incus_name":"web-1"}`},
		{"restart bad op id", jobs.TypeInstanceRestart, `{"v":1,"operation_id":"X","instance_id":"1b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a","incus_name":"web-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.ProcessTask(context.Background(), asynq.NewTask(tt.typ, []byte(tt.payload)))
			if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, jobs.ErrInvalidPayload) {
				t.Fatalf("err = %v, want SkipRetry wrapping ErrInvalidPayload", err)
			}
		})
	}
	if calls := fake.Calls(api.PathPrefix); len(calls) != 0 {
		t.Fatalf("invalid payloads reported %d calls before the error handler", len(calls))
	}
}

func TestHandleErrorReportsOnlyFinalFailures(t *testing.T) {
	t.Parallel()
	fake := testenv.NewPanel(t, "cred")
	w, err := New(Config{NodeID: "node-1"}, nil, nil, fake.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	opID := "0b8c1f0e-9a59-4a6b-8d0e-4f2f6c1d2e3a"
	task := asynq.NewTask(jobs.TypeInstanceStart, []byte(`{"operation_id":"`+opID+`"}`))

	w.HandleError(context.Background(), task, errors.New("incus is busy"))
	if rs := fake.Results(opID); len(rs) != 0 {
		t.Fatalf("a retryable failure was reported: %+v", rs)
	}
	w.HandleError(context.Background(), task, permanent(errors.New("instance web-1 does not exist on this node")))
	rs := fake.Results(opID)
	if len(rs) != 1 || rs[0].Status != api.OpFailure || rs[0].Error != "instance web-1 does not exist on this node" {
		t.Fatalf("results = %+v", rs)
	}
}
