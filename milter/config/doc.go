// Package config reads, decodes and validates edgerewrite's one config file: the daemon
// settings and the policy settings (compiled by package policy), every problem reported as
// file:line.
package config
