package connector

import (
	"maps"
	"slices"
)

// KindNames lists the provider kinds the service knows, sorted, so that a page can show a
// card for each.
func (s *Service) KindNames() []string {
	return slices.Sorted(maps.Keys(s.cfg.Kinds))
}
