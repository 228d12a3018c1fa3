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
	// ratios: mode key + "/" + "c/a" etc. (see ratioPairs) -> median over rounds of the
	// per-round ratio
	ratios map[string]float64
}

// ratioPairs are the throughput ratios reported: edgerewrite against bare Postfix, canonical
// maps, itself without rules and the pass-through milter, and edgerewrite without rules
// against the pass-through milter (the protocol handling alone).
// The floor against canonical maps shows what any milter can reach here. The last two are the
// calendar figures (one connection per message only): the meeting invitation against the
// plain message, and the plain message with body negotiation on against off.
var ratioPairs = [][2]string{{"c", "a"}, {"c", "b"}, {"c", "d"}, {"c", "e"}, {"d", "e"}, {"e", "b"}, {"f", "c"}, {"c", "g"}}

// mainRatios are the ratioPairs of the main results table.
var mainRatios = ratioPairs[:6]

func cellKey(m mode, c configuration) string { return m.Key + "/" + c.Key }

// summarize computes medians per configuration and mode, and the ratios of ratioPairs as the
// median of per-round ratios: in one round the configurations ran back to back, so a
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
		for _, pr := range ratioPairs {
			var rs []float64
			for _, rr := range byRound {
				n, okn := rr[m.Key+"/"+pr[0]]
				d, okd := rr[m.Key+"/"+pr[1]]
				if okn && okd && d > 0 {
					rs = append(rs, n/d)
				}
			}
			if len(rs) > 0 {
				s.ratios[m.Key+"/"+pr[0]+"/"+pr[1]] = median(rs)
			}
		}
	}
	return s
}

// ratio returns the median (c)/(other) ratio in mode m and whether there was one.
func (s summary) ratio(m mode, other string) (float64, bool) {
	return s.ratioOf(m, "c", other)
}

// ratioOf returns the median (num)/(den) ratio in mode m (a pair of ratioPairs) and whether
// there was one.
func (s summary) ratioOf(m mode, num, den string) (float64, bool) {
	v, ok := s.ratios[m.Key+"/"+num+"/"+den]
	return v, ok
}
