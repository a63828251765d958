// The pod sandbox ("pause") image's only program: it holds the pod's namespaces, sleeps until
// SIGTERM or SIGINT, and reaps orphaned children, like the upstream pause container.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		children := make(chan os.Signal, 8)
		signal.Notify(children, syscall.SIGCHLD)
		for range children {
			for {
				var status syscall.WaitStatus
				if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	<-stop
	os.Exit(0)
}
