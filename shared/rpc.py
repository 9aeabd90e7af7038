"""Request and answer between services (nameko RPC), for the few questions an event cannot
answer: the notifications service asks measurement for a chart to put in a mail.

- ``rpc``: nameko's ``rpc`` entrypoint whose queue (``rpc-<service>``) is a quorum queue like
  every other queue here (nameko declares a classic one), so it survives a node's loss.
- ``call(config, service, method, *args, timeout=...)``: one call through a short-lived
  ``ClusterRpcProxy`` that gives up after ``timeout`` seconds (nameko 2.14's ``RpcProxy``
  dependency has no timeout). Its reply queue lives only for the call: no classic queue stays
  declared by the caller. Callers treat any exception as "no answer" and go on without it.
"""
from kombu import Queue
from nameko.rpc import RPC_QUEUE_TEMPLATE, Rpc, RpcConsumer, get_rpc_exchange
from nameko.standalone.rpc import ClusterRpcProxy

QUORUM_RPC_QUEUE = {"x-queue-type": "quorum"}


class QuorumRpcConsumer(RpcConsumer):
    """nameko's RPC consumer with its queue declared as a quorum queue."""

    def setup(self):
        if self.queue is None:
            service_name = self.container.service_name
            self.queue = Queue(RPC_QUEUE_TEMPLATE.format(service_name),
                               exchange=get_rpc_exchange(self.container.config),
                               routing_key=f"{service_name}.*", durable=True,
                               queue_arguments=QUORUM_RPC_QUEUE)
            self.queue_consumer.register_provider(self)
            self._registered = True


class QuorumRpc(Rpc):
    rpc_consumer = QuorumRpcConsumer()


rpc = QuorumRpc.decorator


def call(config, service_name, method_name, *args, timeout):
    """``service_name.method_name(*args)``; raises on timeout, a missing service or its error."""
    with ClusterRpcProxy(config, timeout=timeout) as cluster:
        return getattr(getattr(cluster, service_name), method_name)(*args)
