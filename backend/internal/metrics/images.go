package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// Images lists the image aliases the online nodes report in their heartbeats, each with how
// many of them have it, sorted by alias. With nodeIDs (a plan's nodes) only those nodes count.
func (s *Service) Images(ctx context.Context, nodeIDs []string) ([]api.Image, error) {
	var rows []struct {
		ID     string
		Images string
	}
	q := s.db.WithContext(ctx).Table("nodes").Select("id, images").Where("status = ?", api.NodeOnline)
	if len(nodeIDs) > 0 {
		q = q.Where("id IN ?", nodeIDs)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list node images: %w", err)
	}
	count := map[string]int{}
	for _, r := range rows {
		var aliases []string
		if err := json.Unmarshal([]byte(r.Images), &aliases); err != nil {
			s.log.WarnContext(ctx, "node images are not a JSON array", "node_id", r.ID, "err", err)
			continue
		}
		seen := map[string]bool{}
		for _, a := range aliases {
			if a != "" && !seen[a] {
				seen[a] = true
				count[a]++
			}
		}
	}
	out := make([]api.Image, 0, len(count))
	for a, n := range count {
		out = append(out, api.Image{Alias: a, Nodes: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out, nil
}
