package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// floorPackage is the pass-through milter of configuration (e).
const floorPackage = "./integration/bench/passthrough"

// buildFloor builds the pass-through milter into dir, the way `make build` builds edgerewrite
// (no cgo, -trimpath, stripped), so that the two binaries differ only in what they do.
func buildFloor(dir string) (string, error) {
	root, err := harness.ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "passthrough")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, floorPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the pass-through milter (%s): %w\n%s", floorPackage, err, out)
	}
	return bin, nil
}
