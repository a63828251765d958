// Command etcd is etcd v3.6.4's server, built through the Go module proxy for the e2e suite.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
