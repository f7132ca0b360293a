package bundle

import (
	"errors"
	"os"
	"sync"
)

// temps tracks the private roots of open bundles so an interrupted run
// (SIGINT, SIGTERM, the memory watchdog) removes the customer data it
// unpacked: Abort takes the write lock, so no unpack is between creating
// a file and writing it when the roots are removed, and every unpack step
// after that fails with errAborted.
var temps struct {
	sync.RWMutex
	dirs    map[string]bool
	aborted bool
}

var errAborted = errors.New("interrupted")

func newTemp(parent string) (string, error) {
	temps.Lock()
	defer temps.Unlock()
	if temps.aborted {
		return "", errAborted
	}
	dir, err := os.MkdirTemp(parent, "tkesnap-bundle-")
	if err != nil {
		return "", err
	}
	if temps.dirs == nil {
		temps.dirs = map[string]bool{}
	}
	temps.dirs[dir] = true
	return dir, nil
}

func removeTemp(dir string) error {
	temps.Lock()
	defer temps.Unlock()
	delete(temps.dirs, dir)
	return os.RemoveAll(dir)
}

// guard runs one unpack step (create a file, write a chunk) unless the
// run is being aborted.
func guard(step func() error) error {
	temps.RLock()
	defer temps.RUnlock()
	if temps.aborted {
		return errAborted
	}
	return step()
}

// Abort removes the temporary root of every open bundle and makes any
// unpack still running stop. The process is expected to exit after it.
func Abort() {
	temps.Lock()
	defer temps.Unlock()
	temps.aborted = true
	for dir := range temps.dirs {
		os.RemoveAll(dir)
		delete(temps.dirs, dir)
	}
}
