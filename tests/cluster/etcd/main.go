// etcd for the test cluster: the etcd server of go.etcd.io/etcd/server/v3, as the etcd binary runs it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
