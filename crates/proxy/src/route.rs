//! QueryRoute and QueryAssignment: the NameServer's route told in 5.x terms,
//! with the proxy's own address as every queue's broker endpoint (clients
//! talk to the proxy, never to brokers), and the message types the topic takes.

use rmq_model::perm;

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::{group_name, topic_name};
use crate::pb::{
    Address, AddressScheme, Assignment, Broker, Endpoints, MessageQueue, Permission, QueryAssignmentRequest,
    QueryAssignmentResponse, QueryRouteRequest, QueryRouteResponse, Resource,
};
use crate::status::{Outcome, ok};

impl Proxy {
    /// The endpoints to name as brokers: the ones the client dialled, on
    /// the proxy's gRPC port (Java replaces the port too), else the local
    /// address the request came in on.
    fn endpoints(&self, ctx: &Ctx, asked: Option<&Endpoints>) -> Endpoints {
        let port = i32::from(self.config.listen.port());
        match asked.filter(|e| !e.addresses.is_empty()) {
            Some(e) => Endpoints {
                scheme: e.scheme,
                addresses: e.addresses.iter().map(|a| Address { host: a.host.clone(), port }).collect(),
            },
            None => {
                let scheme = if ctx.local.is_ipv6() { AddressScheme::IPv6 } else { AddressScheme::IPv4 };
                Endpoints { scheme: scheme as i32, addresses: vec![Address { host: ctx.local.ip().to_string(), port }] }
            }
        }
    }

    pub(crate) async fn query_route(&self, ctx: &Ctx, req: QueryRouteRequest) -> Outcome<QueryRouteResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        let route = self.brokers.route(&topic).await?;
        let endpoints = self.endpoints(ctx, req.endpoints.as_ref());
        let accepted = crate::message_type::accepted(self.topic_type(&topic).await);
        let resource = Resource { resource_namespace: String::new(), name: topic.clone() };
        let mut queue_datas = route.data.queue_datas.clone();
        queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut message_queues = Vec::new();
        for q in queue_datas.iter().filter(|q| self.brokers.serves(&q.broker_name)) {
            if route.master(&q.broker_name).is_none() && !perm::is_readable(q.perm) {
                continue;
            }
            let broker = Broker { name: q.broker_name.clone(), id: 0, endpoints: Some(endpoints.clone()) };
            let (r, w) = (q.read_queue_nums as i32, q.write_queue_nums as i32);
            let (readable, writable) = (perm::is_readable(q.perm), perm::is_writeable(q.perm));
            let (rw, only_r, only_w, none) = match (readable, writable) {
                (true, true) => (r.min(w), r - r.min(w), w - r.min(w), 0),
                (true, false) => (0, r, 0, 0),
                (false, true) => (0, 0, w, 0),
                (false, false) => (0, 0, 0, r.max(w).max(1)),
            };
            // Java's order: read-only, write-only, read-write, then none.
            let kinds = [
                (only_r, Permission::Read),
                (only_w, Permission::Write),
                (rw, Permission::ReadWrite),
                (none, Permission::None),
            ];
            let mut id = 0;
            for (count, permission) in kinds {
                for _ in 0..count {
                    message_queues.push(MessageQueue {
                        topic: Some(resource.clone()),
                        id,
                        permission: permission as i32,
                        broker: Some(broker.clone()),
                        accept_message_types: accepted.clone(),
                    });
                    id += 1;
                }
            }
        }
        Ok(QueryRouteResponse { status: Some(ok()), message_queues })
    }

    pub(crate) async fn query_assignment(
        &self,
        ctx: &Ctx,
        req: QueryAssignmentRequest,
    ) -> Outcome<QueryAssignmentResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        let group = group_name(req.group.as_ref())?;
        let route = self.brokers.route(&topic).await?;
        let endpoints = self.endpoints(ctx, req.endpoints.as_ref());
        let fifo = self.group_settings(&topic, &group).await.is_some_and(|g| g.consume_message_orderly);
        let accepted = crate::message_type::accepted(self.topic_type(&topic).await);
        let resource = Resource { resource_namespace: String::new(), name: topic.clone() };
        let mut assignments = Vec::new();
        for (broker_name, _) in self.brokers.readable_masters(&route) {
            let broker = Broker { name: broker_name.clone(), id: 0, endpoints: Some(endpoints.clone()) };
            let queue = |id| Assignment {
                message_queue: Some(MessageQueue {
                    topic: Some(resource.clone()),
                    id,
                    permission: Permission::ReadWrite as i32,
                    broker: Some(broker.clone()),
                    accept_message_types: accepted.clone(),
                }),
            };
            if fifo {
                let reads = route
                    .data
                    .queue_datas
                    .iter()
                    .find(|q| q.broker_name == broker_name)
                    .map_or(0, |q| q.read_queue_nums as i32);
                assignments.extend((0..reads).map(queue));
            } else {
                assignments.push(queue(-1));
            }
        }
        if assignments.is_empty() {
            return Err(crate::status::Refusal::new(crate::pb::Code::Forbidden, "no readable queue"));
        }
        Ok(QueryAssignmentResponse { status: Some(ok()), assignments })
    }
}
