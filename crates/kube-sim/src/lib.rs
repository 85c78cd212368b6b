//! kube-sim: a loopback Kubernetes API server that answers in the shapes of a real kube-apiserver.

pub mod cluster;
