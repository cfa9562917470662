package api

import "time"

// Metric ranges of GET /api/v1/servers/{id}/metrics?range=…; MetricRange1h is the default.
// The ranges up to a day are drawn from raw samples, the longer ones from hourly rollups.
const (
	MetricRange1h  = "1h"
	MetricRange6h  = "6h"
	MetricRange24h = "24h"
	MetricRange7d  = "7d"
	MetricRange30d = "30d"
)

// MetricPoint is a server's usage over one bucket of a ServerMetrics series, starting at At
// and lasting StepSeconds.
//
// CPUPercent is the CPU time used per wall time in percent of ONE core: a server with 4 CPUs
// that uses them all reads 400. NetRxBps and NetTxBps are the bytes per second received and
// sent. They are averages over the intervals between the bucket's samples (an interval in
// which a counter went backwards, because the instance restarted, adds no rate: never a
// negative or huge spike). MemoryBytes and DiskBytes are the average of the bucket's samples.
type MetricPoint struct {
	At          time.Time `json:"at"`
	CPUPercent  float64   `json:"cpu_percent"`
	MemoryBytes int64     `json:"memory_bytes"`
	DiskBytes   int64     `json:"disk_bytes"`
	NetRxBps    float64   `json:"net_rx_bps"`
	NetTxBps    float64   `json:"net_tx_bps"`
}

// ServerMetrics is the usage history of one server over Range (GET
// /api/v1/servers/{id}/metrics): from From to To (now), in buckets of StepSeconds.
//
// Points are in ascending At order, one per bucket that has data: a missing bucket means no
// sample was recorded then (the server or its node was down, or the panel was not recording),
// and a chart draws a gap there. Samples are taken with the nodes' heartbeats, at most one
// per metrics.interval, so at the finest steps a single bucket may be empty while data flows
// (a sample landed just after the bucket's end). Points is [] when there is no data. CPUs,
// MemoryLimitBytes and DiskLimitBytes are the server's current size, the charts' ceilings.
type ServerMetrics struct {
	ServerID         string        `json:"server_id"`
	Range            string        `json:"range"`
	StepSeconds      int           `json:"step_seconds"`
	From             time.Time     `json:"from"`
	To               time.Time     `json:"to"`
	CPUs             int           `json:"cpus"`
	MemoryLimitBytes int64         `json:"memory_limit_bytes"`
	DiskLimitBytes   int64         `json:"disk_limit_bytes"`
	Points           []MetricPoint `json:"points"`
}

// Image is an image a server can be created from (GET /api/v1/images): an image alias that
// Nodes online nodes have (the nodes of the plan asked about, when it is restricted to some).
type Image struct {
	Alias string `json:"alias"`
	Nodes int    `json:"nodes"`
}
