package api

// QueueStats is one asynq queue as Redis holds it at the moment of the request: a node's job
// queue (NodeID and NodeName set) or the panel's own billing queue (NodeID empty). A queue
// Redis does not know yet (nothing was ever enqueued on it) reads as all zeros.
type QueueStats struct {
	// Queue is the asynq queue name ("node:<id>", or "<redis prefix>panel").
	Queue    string `json:"queue"`
	NodeID   string `json:"node_id,omitempty"`
	NodeName string `json:"node_name,omitempty"`
	// NodeStatus is the node's state (pending, online, offline); empty for the panel queue.
	NodeStatus string `json:"node_status,omitempty"`
	// Pending tasks wait for a worker; Active ones run now; Scheduled ones wait for their
	// time; Retry ones failed and wait for another attempt; Archived ones gave up (asynq's
	// dead letters, which the sweeper turns into failed operations); Completed ones are kept
	// for their retention.
	Pending   int `json:"pending"`
	Active    int `json:"active"`
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	Archived  int `json:"archived"`
	Completed int `json:"completed"`
	// ProcessedToday and FailedToday count tasks handled since midnight UTC.
	ProcessedToday int `json:"processed_today"`
	FailedToday    int `json:"failed_today"`
	// LatencySeconds is how long the oldest pending task has waited.
	LatencySeconds float64 `json:"latency_seconds"`
	// Paused queues hand out no tasks.
	Paused bool `json:"paused"`
}
