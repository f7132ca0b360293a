package trace

import "tkesnap/analysis/model"

// witness annotates a trace with what the captures of the bundle saw.
func (tr *Tracer) witness(t *Trace, f model.Flow) {}
