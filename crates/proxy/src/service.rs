//! tonic's `MessagingService` trait over [`Proxy`]: each call reads the
//! client's context, runs, and answers with the outcome in the response's
//! `Status` (the gRPC status stays OK, as Java's proxy answers).

use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use tonic::{Request, Response, Status, Streaming};

use crate::Proxy;
use crate::context::Ctx;
use crate::pb::messaging_service_server::MessagingService;
use crate::pb::*;

#[derive(Debug, Clone)]
pub(crate) struct Service(pub Arc<Proxy>);

type Answer<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A unary call: context, the proxy's method, refusals into the response.
macro_rules! unary {
    ($self:ident, $req:ident, $method:ident, $response:ident) => {{
        let outcome = match Ctx::of(&$req, &$self.0.auth) {
            Ok(ctx) => $self.0.$method(&ctx, $req.into_inner()).await,
            Err(refusal) => Err(refusal),
        };
        Ok(Response::new(outcome.unwrap_or_else(|refusal| {
            let mut answer = $response::default();
            answer.status = Some(refusal.0);
            answer
        })))
    }};
}

#[tonic::async_trait]
impl MessagingService for Service {
    async fn query_route(&self, req: Request<QueryRouteRequest>) -> Answer<QueryRouteResponse> {
        unary!(self, req, query_route, QueryRouteResponse)
    }

    async fn heartbeat(&self, req: Request<HeartbeatRequest>) -> Answer<HeartbeatResponse> {
        unary!(self, req, heartbeat, HeartbeatResponse)
    }

    async fn send_message(&self, req: Request<SendMessageRequest>) -> Answer<SendMessageResponse> {
        unary!(self, req, send_message, SendMessageResponse)
    }

    async fn query_assignment(&self, req: Request<QueryAssignmentRequest>) -> Answer<QueryAssignmentResponse> {
        unary!(self, req, query_assignment, QueryAssignmentResponse)
    }

    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;

    async fn receive_message(&self, req: Request<ReceiveMessageRequest>) -> Answer<Self::ReceiveMessageStream> {
        let entries = match Ctx::of(&req, &self.0.auth) {
            Ok(ctx) => self.0.receive_message(&ctx, req.into_inner()).await,
            Err(refusal) => {
                vec![ReceiveMessageResponse { content: Some(receive_message_response::Content::Status(refusal.0)) }]
            }
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter(entries.into_iter().map(Ok)))))
    }

    async fn ack_message(&self, req: Request<AckMessageRequest>) -> Answer<AckMessageResponse> {
        unary!(self, req, ack_message, AckMessageResponse)
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        req: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Answer<ForwardMessageToDeadLetterQueueResponse> {
        unary!(self, req, forward_to_dead_letter_queue, ForwardMessageToDeadLetterQueueResponse)
    }

    type PullMessageStream = BoxStream<PullMessageResponse>;

    async fn pull_message(&self, req: Request<PullMessageRequest>) -> Answer<Self::PullMessageStream> {
        let entries = match Ctx::of(&req, &self.0.auth) {
            Ok(ctx) => self.0.pull_message(&ctx, req.into_inner()).await,
            Err(refusal) => {
                vec![PullMessageResponse { content: Some(pull_message_response::Content::Status(refusal.0)) }]
            }
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter(entries.into_iter().map(Ok)))))
    }

    async fn update_offset(&self, req: Request<UpdateOffsetRequest>) -> Answer<UpdateOffsetResponse> {
        unary!(self, req, update_offset, UpdateOffsetResponse)
    }

    async fn get_offset(&self, req: Request<GetOffsetRequest>) -> Answer<GetOffsetResponse> {
        unary!(self, req, get_offset, GetOffsetResponse)
    }

    async fn query_offset(&self, req: Request<QueryOffsetRequest>) -> Answer<QueryOffsetResponse> {
        unary!(self, req, query_offset, QueryOffsetResponse)
    }

    async fn end_transaction(&self, req: Request<EndTransactionRequest>) -> Answer<EndTransactionResponse> {
        unary!(self, req, end_transaction, EndTransactionResponse)
    }

    type TelemetryStream = BoxStream<TelemetryCommand>;

    async fn telemetry(&self, req: Request<Streaming<TelemetryCommand>>) -> Answer<Self::TelemetryStream> {
        match Ctx::of(&req, &self.0.auth) {
            Ok(ctx) => Ok(Response::new(Box::pin(self.0.telemetry(ctx, req.into_inner())))),
            Err(refusal) => {
                let answer = TelemetryCommand { status: Some(refusal.0), command: None };
                Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(answer)]))))
            }
        }
    }

    async fn notify_client_termination(
        &self,
        req: Request<NotifyClientTerminationRequest>,
    ) -> Answer<NotifyClientTerminationResponse> {
        unary!(self, req, notify_client_termination, NotifyClientTerminationResponse)
    }

    async fn change_invisible_duration(
        &self,
        req: Request<ChangeInvisibleDurationRequest>,
    ) -> Answer<ChangeInvisibleDurationResponse> {
        unary!(self, req, change_invisible_duration, ChangeInvisibleDurationResponse)
    }

    async fn recall_message(&self, req: Request<RecallMessageRequest>) -> Answer<RecallMessageResponse> {
        unary!(self, req, recall_message, RecallMessageResponse)
    }
}
