package main

import (
	"math"
	"slices"
)

// median of xs; NaN when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// cell is the summary of one configuration in one mode.
type cell struct {
	Rate       float64 // median msgs/s of the runs that passed
	MilterCPU  float64 // median milter CPU ms per message (milter configurations)
	OK, Failed int
}

// summary holds the medians over rounds.
type summary struct {
	cells map[string]cell // key: mode key + "/" + configuration key
	// ratios: mode key + "/" + "c/a" etc. -> median over rounds of the per-round ratio
	ratios map[string]float64
}

func cellKey(m mode, c configuration) string { return m.Key + "/" + c.Key }

// summarize computes medians per configuration and mode, and the ratios of (c) to the others
// as the median of per-round ratios: in one round the configurations ran back to back, so a
// ratio within a round cancels the drift of a shared machine better than a ratio of medians.
func summarize(results []runResult) summary {
	s := summary{cells: map[string]cell{}, ratios: map[string]float64{}}
	rates := map[string][]float64{}
	cpus := map[string][]float64{}
	byRound := map[int]map[string]float64{} // round -> cellKey -> rate
	for _, r := range results {
		k := cellKey(r.Mode, r.Config)
		c := s.cells[k]
		if !r.OK() {
			c.Failed++
			s.cells[k] = c
			continue
		}
		c.OK++
		s.cells[k] = c
		rates[k] = append(rates[k], r.Rate)
		if r.Config.Milter {
			cpus[k] = append(cpus[k], r.MilterCPUms())
		}
		if byRound[r.Round] == nil {
			byRound[r.Round] = map[string]float64{}
		}
		byRound[r.Round][k] = r.Rate
	}
	for k, c := range s.cells {
		c.Rate = median(rates[k])
		c.MilterCPU = median(cpus[k])
		s.cells[k] = c
	}
	for _, m := range allModes {
		for _, other := range []string{"a", "b", "d"} {
			var rs []float64
			for _, rr := range byRound {
				c, okc := rr[m.Key+"/c"]
				o, oko := rr[m.Key+"/"+other]
				if okc && oko && o > 0 {
					rs = append(rs, c/o)
				}
			}
			if len(rs) > 0 {
				s.ratios[m.Key+"/c/"+other] = median(rs)
			}
		}
	}
	return s
}

// ratio returns the median (c)/(other) ratio in mode m and whether there was one.
func (s summary) ratio(m mode, other string) (float64, bool) {
	v, ok := s.ratios[m.Key+"/c/"+other]
	return v, ok
}
