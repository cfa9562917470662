package proration

import (
	"math"
	"testing"
	"time"
)

func TestAmount(t *testing.T) {
	t.Parallel()
	const month = 30 * 86400
	tests := []struct {
		name                    string
		diff, remaining, period int64
		want                    int64
	}{
		{"half of an upgrade", 2000, month / 2, month, 1000},
		{"half of a downgrade", -2000, month / 2, month, -1000},
		{"a third rounds down", 1000, month / 3, month, 333},
		{"two thirds round up", 1000, 2 * month / 3, month, 667},
		{"half a cent rounds away from zero", 1, 1, 2, 1},
		{"minus half a cent rounds away from zero", -1, 1, 2, -1},
		{"just under half rounds to zero", 1, 49, 100, 0},
		{"whole period", 1234, month, month, 1234},
		{"nothing left", 1234, 0, month, 0},
		{"past the end clamps to nothing", 1234, -50, month, 0},
		{"more than the period clamps to all", 1234, 2 * month, month, 1234},
		{"empty period", 1234, 10, 0, 0},
		{"no difference", 0, 10, 20, 0},
		{"huge amounts are exact", 1 << 60, 1 << 40, 1 << 41, 1 << 59},
		{"min int64 stays in range", math.MinInt64, 1, 1, math.MinInt64},
	}
	for _, tt := range tests {
		got, err := Amount(tt.diff, tt.remaining, tt.period)
		if err != nil || got != tt.want {
			t.Errorf("%s: Amount(%d, %d, %d) = %d, %v; want %d", tt.name, tt.diff, tt.remaining, tt.period, got, err, tt.want)
		}
	}
}

func TestSecondsAndRemainingText(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if got := Seconds(t0, t0.Add(90*time.Second+900*time.Millisecond)); got != 90 {
		t.Errorf("Seconds = %d, want 90 (whole seconds)", got)
	}
	if got := Seconds(t0, t0.Add(-time.Hour)); got != 0 {
		t.Errorf("Seconds of a reversed range = %d, want 0", got)
	}
	tests := []struct {
		seconds int64
		want    string
	}{
		{15 * 86400, "15 days"},
		{86400 + 3600, "1 day"},
		{86400 + 13*3600, "2 days"},
		{5*3600 + 60, "5 hours"},
		{3600, "1 hour"},
		{59 * 60, "less than an hour"},
	}
	for _, tt := range tests {
		if got := remainingText(tt.seconds); got != tt.want {
			t.Errorf("remainingText(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}
