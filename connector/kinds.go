package connector

import "github.com/bellhop/bellhop/provider"

// KindNames lists the channel kinds the service knows, sorted, so that a page can show a
// card for each.
func (s *Service) KindNames() []string { return s.cfg.Kinds.Names() }

// Kinds is the registry of channel kinds the service works from.
func (s *Service) Kinds() *provider.Registry { return s.cfg.Kinds }
