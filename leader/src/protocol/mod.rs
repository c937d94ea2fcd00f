//! The PostgreSQL wire protocol, as Redshift speaks it, on pgwire.
//!
//! Startup accepts the extra parameters Redshift drivers send, authenticates (trust on loopback,
//! MD5 password otherwise), and reports Redshift's ParameterStatus values (server_version 8.0.2).
//! Queries in the simple and extended protocols both go to the connection's [`Session`].

pub mod encode;
pub mod params;

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::auth::{StartupHandler, protocol_negotiation, save_startup_parameters_to_metadata};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{CopyResponse, DescribeResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::api::DEFAULT_NAME;
use pgwire::messages::cancel::CancelRequest;
use pgwire::api::store::Entry;
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Close, CloseComplete, Describe, Parse, ParseComplete, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{NoticeResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::catalog::{DATABASE, SUPERUSER};
use crate::error::{Error, SqlState};
use crate::server::{AuthMode, Server};
use crate::session::{Notice, Outcome, Session, StatementResult};
use crate::sql::{StatementText, split_statements};

/// A parsed statement of the extended protocol.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub statement: StatementText,
    pub client_types: Vec<Option<Type>>,
    pub param_types: Vec<Option<DataType>>,
    pub schema: Option<SchemaRef>,
}

/// The connection handlers (one set for all connections; per-connection state lives in the
/// client's session extensions).
pub struct Handlers {
    server: Arc<Server>,
    parser: Arc<Parser>,
}

impl Handlers {
    pub fn new(server: Arc<Server>) -> Arc<Handlers> {
        Arc::new(Handlers {
            parser: Arc::new(Parser),
            server,
        })
    }
}

pub struct HandlerFactory(pub Arc<Handlers>);

impl PgWireServerHandlers for HandlerFactory {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.0)
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.0)
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.0)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::clone(&self.0)
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        Arc::clone(&self.0)
    }
}

/// Closes a session (temporary tables, open transaction) when its connection goes away.
struct SessionGuard(Arc<Session>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let session = Arc::clone(&self.0);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                session.close().await;
                session.server.sessions.remove(session.pid);
            });
        }
    }
}

fn session_of<C: ClientInfo>(client: &C) -> PgWireResult<Arc<Session>> {
    client
        .session_extensions()
        .get::<Arc<Session>>()
        .map(|s| Arc::clone(s.as_ref()))
        .ok_or_else(|| PgWireError::ApiError("no session for this connection".into()))
}

fn fatal(state: SqlState, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), state.code().into(), message)))
}

/// Salt of a pending MD5 authentication, kept between the startup and password messages.
struct PendingMd5([u8; 4]);

impl Handlers {
    async fn finish_startup<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let metadata = client.metadata().clone();
        let user = metadata.get("user").cloned().unwrap_or_default();
        let pid = self.server.next_pid();
        let secret: i32 = rand::random();
        client.set_pid_and_secret_key(pid, SecretKey::I32(secret));
        let session = Arc::new(Session::new(
            Arc::clone(&self.server),
            pid,
            secret,
            &user,
            metadata.get("application_name").map(String::as_str),
        ));
        self.server.sessions.register(&session);
        client.session_extensions().insert::<Arc<Session>>(Arc::clone(&session));
        client.session_extensions().insert(SessionGuard(Arc::clone(&session)));

        client.feed(PgWireBackendMessage::Authentication(Authentication::Ok)).await?;
        let settings = session.settings();
        let parameters = [
            ("application_name", settings.get("application_name").unwrap_or("").to_string()),
            ("client_encoding", "UTF8".to_string()),
            ("DateStyle", settings.get("datestyle").unwrap_or("ISO, MDY").to_string()),
            ("integer_datetimes", "on".to_string()),
            ("is_superuser", if user == SUPERUSER { "on" } else { "off" }.to_string()),
            // Drivers recognise Redshift by this parameter (asyncpg then skips CLOSE ALL,
            // advisory locks and LISTEN when it resets a connection).
            ("padb_revision", env!("CARGO_PKG_VERSION").to_string()),
            ("server_encoding", "UTF8".to_string()),
            ("server_version", "8.0.2".to_string()),
            ("session_authorization", user.clone()),
            ("standard_conforming_strings", "off".to_string()),
            ("TimeZone", "UTC".to_string()),
        ];
        for (name, value) in parameters {
            client
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name.to_string(), value)))
                .await?;
        }
        client
            .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(pid, SecretKey::I32(secret))))
            .await?;
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(TransactionStatus::Idle)))
            .await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}

#[async_trait]
impl StartupHandler for Handlers {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(startup) => {
                protocol_negotiation(client, &startup).await?;
                // Redshift drivers add client_protocol_version, driver_version, os_version,
                // plugin_name, ...: they are kept as metadata and otherwise ignored.
                save_startup_parameters_to_metadata(client, &startup);
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                if user != SUPERUSER {
                    return Err(fatal(
                        SqlState::InvalidAuthorizationSpecification,
                        format!("user \"{user}\" does not exist"),
                    ));
                }
                if let Some(database) = client.metadata().get("database")
                    && database != DATABASE
                {
                    return Err(fatal(
                        SqlState::InvalidCatalogName,
                        format!("database \"{database}\" does not exist"),
                    ));
                }
                match &self.server.auth {
                    AuthMode::Trust => self.finish_startup(client).await,
                    AuthMode::Md5Password(_) => {
                        let salt: [u8; 4] = rand::random();
                        client.session_extensions().insert(PendingMd5(salt));
                        client.set_state(PgWireConnectionState::AuthenticationInProgress);
                        client
                            .send(PgWireBackendMessage::Authentication(Authentication::MD5Password(salt.to_vec())))
                            .await?;
                        Ok(())
                    }
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let AuthMode::Md5Password(expected) = &self.server.auth else {
                    return Err(fatal(SqlState::InvalidPassword, "unexpected password message".into()));
                };
                let Some(salt) = client.session_extensions().get::<PendingMd5>() else {
                    return Err(fatal(SqlState::InvalidPassword, "unexpected password message".into()));
                };
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                let given = password.into_password()?.password;
                let wanted = pgwire::api::auth::md5pass::hash_md5_password(&user, expected, &salt.0);
                if given != wanted {
                    return Err(fatal(
                        SqlState::InvalidPassword,
                        format!("password authentication failed for user \"{user}\""),
                    ));
                }
                self.finish_startup(client).await
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl CancelHandler for Handlers {
    async fn on_cancel_request(&self, request: CancelRequest) {
        // Protocol 3.0 keys are 4 bytes; pgwire may hand them over either way.
        let secret = match &request.secret_key {
            SecretKey::I32(secret) => Some(*secret),
            SecretKey::Bytes(bytes) => <[u8; 4]>::try_from(bytes.as_ref()).ok().map(i32::from_be_bytes),
        };
        if let Some(secret) = secret {
            self.server.sessions.cancel(request.pid, secret);
        }
    }
}

async fn send_notices<C>(client: &mut C, notices: Vec<Notice>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for notice in notices {
        let info = ErrorInfo::new(notice.severity.into(), notice.code.into(), notice.message);
        client
            .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(info)))
            .await?;
    }
    Ok(())
}

fn to_pgwire_error(e: Error) -> PgWireError {
    PgWireError::UserError(Box::new(e.into()))
}

/// Turns a statement's outcome into pgwire's response, encoding rows in the client's formats and
/// in the types of `described`, the schema a Describe gave the client, if any.
fn to_response(
    outcome: Outcome,
    described: Option<&SchemaRef>,
    format: impl Fn(usize) -> FieldFormat,
    float_digits: i32,
) -> Response {
    match outcome {
        Outcome::Rows { schema, stream } => {
            let schema = match described {
                Some(described) if described.fields().len() == schema.fields().len() => Arc::clone(described),
                _ => schema,
            };
            let fields = Arc::new(encode::field_infos(&schema, format));
            let row_fields = Arc::clone(&fields);
            let rows = stream.flat_map(move |batch| {
                let rows: Vec<PgWireResult<_>> = match batch {
                    Ok(batch) => match encode::encode_batch(&batch, &schema, &row_fields, float_digits) {
                        Ok(rows) => rows.into_iter().map(Ok).collect(),
                        Err(e) => vec![Err(to_pgwire_error(e))],
                    },
                    Err(e) => vec![Err(to_pgwire_error(Error::from(e)))],
                };
                futures::stream::iter(rows)
            });
            Response::Query(QueryResponse::new(fields, rows))
        }
        Outcome::Command { tag, rows } => {
            let mut t = Tag::new(&tag);
            if tag == "INSERT" {
                t = t.with_oid(0);
            }
            if let Some(rows) = rows {
                t = t.with_rows(rows as usize);
            }
            Response::Execution(t)
        }
        Outcome::BlockStarted(tag) => Response::TransactionStart(Tag::new(&tag)),
        Outcome::BlockEnded(tag) => Response::TransactionEnd(Tag::new(&tag)),
        Outcome::Empty => Response::EmptyQuery,
        Outcome::CopyIn { columns } => {
            Response::CopyIn(CopyResponse::new(0, columns, futures::stream::empty()))
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Handlers {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let float_digits = session.settings().extra_float_digits();
        let mut responses = Vec::new();
        for result in session.run_query_string(query).await {
            match result {
                Ok(StatementResult { notices, outcome }) => {
                    send_notices(client, notices).await?;
                    responses.push(to_response(outcome, None, |_| FieldFormat::Text, float_digits));
                }
                Err(e) => responses.push(Response::Error(Box::new(e.into()))),
            }
        }
        close_deallocated(client, &session);
        if responses.is_empty() {
            responses.push(Response::EmptyQuery);
        }
        Ok(responses)
    }
}

/// COPY FROM STDIN's data: collected on the session, then loaded by running the statement again.
#[async_trait]
impl CopyHandler for Handlers {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: pgwire::messages::copy::CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        crate::handler::copy::stdin::receive(&session, &copy_data.data).map_err(to_pgwire_error)
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: pgwire::messages::copy::CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let result = crate::handler::copy::stdin::finish(&session).await.map_err(to_pgwire_error)?;
        send_notices(client, result.notices).await?;
        if let Outcome::Command { tag, rows } = result.outcome {
            let tag = Tag::new(&tag).with_rows(rows.unwrap_or(0) as usize);
            client.send(PgWireBackendMessage::CommandComplete(tag.into())).await?;
        }
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: pgwire::messages::copy::CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Ok(session) = session_of(client) {
            session.copy_in.lock().unwrap().take();
        }
        to_pgwire_error(Error::new(
            SqlState::QueryCanceled,
            format!("COPY from stdin failed: {}", fail.message),
        ))
    }
}

/// Closes the prepared statements that a DEALLOCATE of this query removed.
fn close_deallocated<C>(client: &C, session: &Session)
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    for name in session.prepared.lock().unwrap().take_closing() {
        client.portal_store().rm_statement(&name);
    }
}

pub struct Parser;

#[async_trait]
impl QueryParser for Parser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(&self, client: &C, sql: &str, types: &[Option<Type>]) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session_of(client)?;
        let mut statements = split_statements(sql).map_err(to_pgwire_error)?;
        if statements.len() > 1 {
            return Err(to_pgwire_error(Error::syntax(
                "cannot insert multiple commands into a prepared statement",
            )));
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        let description = session.describe(&statement).await.map_err(to_pgwire_error)?;
        Ok(Some(Arc::new(Prepared {
            statement,
            client_types: types.to_vec(),
            param_types: description.params,
            schema: description.schema,
        })))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        let count = stmt.param_types.len().max(stmt.client_types.len());
        Ok((0..count)
            .map(|i| {
                stmt.client_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| stmt.param_types.get(i).cloned().flatten().map(|t| encode::pg_type(&t)))
                    .unwrap_or(Type::UNKNOWN)
            })
            .collect())
    }

    fn get_result_schema(&self, stmt: &Self::Statement, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(match &stmt.schema {
            Some(schema) => encode::field_infos(schema, |i| {
                format.map(|f| f.format_for(i)).unwrap_or(FieldFormat::Text)
            }),
            None => vec![],
        })
    }
}

#[async_trait]
impl ExtendedQueryHandler for Handlers {
    type Statement = Arc<Prepared>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    /// pgwire's Parse, plus the statement's name for DEALLOCATE.
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_owned());
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(statement) => client.portal_store().put_statement(Arc::new(statement)),
            None => client.portal_store().put_empty_statement(&name),
        }
        if name != DEFAULT_NAME {
            session_of(client)?.prepared.lock().unwrap().parsed(&name);
        }
        client.send(PgWireBackendMessage::ParseComplete(ParseComplete::new())).await?;
        Ok(())
    }

    /// A statement that returns no rows is described as ParameterDescription then NoData (pgwire
    /// would send an empty RowDescription when it has parameters, which pgjdbc takes for a
    /// result set: "A result was returned when none was expected").
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_STATEMENT
            && let Some(Entry::Value(statement)) = client.portal_store().get_statement(name)
            && statement.statement.schema.is_none()
        {
            let described = self.do_describe_statement(client, &statement).await?;
            let types = described.parameters().unwrap_or_default().iter().map(|t| t.oid()).collect();
            client.feed(PgWireBackendMessage::ParameterDescription(ParameterDescription::new(types))).await?;
            client.send(PgWireBackendMessage::NoData(NoData::new())).await?;
            return Ok(());
        }
        self._on_describe(client, message).await
    }

    /// pgwire's Close, keeping the session's statement names in step.
    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                client.portal_store().rm_statement(name);
                session_of(client)?.prepared.lock().unwrap().closed(name);
            }
            TARGET_TYPE_BYTE_PORTAL => client.portal_store().rm_portal(name),
            _ => {}
        }
        client.send(PgWireBackendMessage::CloseComplete(CloseComplete::new())).await?;
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Self::Statement>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let prepared: &StoredStatement<Arc<Prepared>> = &portal.statement;
        let prepared = &prepared.statement;
        let values = params::decode_params(
            &portal.parameters,
            |i| portal.parameter_format.format_for(i),
            &prepared.client_types,
            &prepared.param_types,
        )
        .map_err(to_pgwire_error)?;
        let params = (!values.is_empty()).then(|| values.into());
        let result = session.execute(&prepared.statement, params).await;
        close_deallocated(client, &session);
        let result = result.map_err(to_pgwire_error)?;
        send_notices(client, result.notices).await?;
        let float_digits = session.settings().extra_float_digits();
        Ok(to_response(
            result.outcome,
            prepared.schema.as_ref(),
            |i| portal.result_column_format.format_for(i),
            float_digits,
        ))
    }
}
