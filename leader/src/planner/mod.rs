//! DataFusion session setup: Blueshift's catalog, Redshift-compatible SQL options, and the
//! distributed planner that sends scans to the compute nodes.

pub mod catalog_functions;
pub mod date_timestamps;
pub mod distribute;
pub mod explain;
pub mod functions;
pub mod group_by_check;
pub mod interval_arithmetic;
pub mod lineage;
pub mod temporal_literals;

use std::sync::{Arc, LazyLock};

use blueshift_compute::BlueshiftCodec;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::{Analyzer, AnalyzerRule};
use datafusion::prelude::SessionConfig;
use datafusion_distributed::{DistributedExt, SessionStateBuilderExt};

use crate::catalog::DATABASE;
use crate::catalog::provider::{BlueshiftCatalogList, ContextCell, SEARCH_PATH_SCHEMA, Services};

/// DataFusion's analyzer rules with Redshift's: a date meeting an interval or a timestamp becomes
/// a timestamp before type coercion, which then fits what surrounds it to that; literals are read
/// after coercion has cast them to their columns' types; grouping is checked on the finished plan.
fn analyzer_rules() -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    let mut rules = Analyzer::new().rules;
    let coercion = rules.iter().position(|rule| rule.name() == "type_coercion").unwrap_or(rules.len());
    rules.insert(coercion, Arc::new(date_timestamps::DateTimestamps));
    rules.push(Arc::new(temporal_literals::TemporalLiterals));
    rules.push(Arc::new(group_by_check::GroupByCheck));
    rules
}

/// `plan` with the expressions of every node, subqueries' included, rewritten bottom up by the
/// rewrite `for_node` gives for that node (none: the node is left as it is). A rewritten
/// expression keeps its name, which the plans above refer to it by (`GROUP BY 1`), and each
/// node's schema follows its expressions' types.
fn rewrite_expressions<R>(plan: LogicalPlan, for_node: impl Fn(&LogicalPlan) -> Result<Option<R>>) -> Result<LogicalPlan>
where
    R: Fn(Expr) -> Transformed<Expr>,
{
    plan.transform_up_with_subqueries(|plan| {
        let Some(rewrite) = for_node(&plan)? else {
            return Ok(Transformed::no(plan));
        };
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|expr| {
            let name = names.save(&expr);
            let rewritten = expr.transform_up(|expr| Ok(rewrite(expr)))?;
            Ok(Transformed::new_transformed(name.restore(rewritten.data), rewritten.transformed))
        })?
        .map_data(|plan| plan.recompute_schema())
    })
    .map(|transformed| transformed.data)
}

/// Stack of each thread that plans or runs queries (the serving runtime's and the query
/// runtime's), rather than tokio's 2 MiB. Planning and running recurse over the expression tree:
/// Redshift functions rewritten into expressions (ADD_MONTHS) or the BI tools' startup queries
/// overflowed 2 MiB in an unoptimized build, and a chain of 1,000 `+` terms (as deep as
/// `sql::parse_statement` lets a statement nest) overflowed 8 MiB there, which aborts the whole
/// server. Only the pages a thread touches take memory.
pub const THREAD_STACK_BYTES: usize = 32 << 20;

/// The runtime queries execute on, apart from the one serving connections: a CPU-bound operator
/// that rarely yields can then never delay a cancel request, a timeout or another session.
pub fn executor() -> &'static tokio::runtime::Handle {
    static EXECUTOR: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("blueshift-exec")
            .thread_stack_size(THREAD_STACK_BYTES)
            .enable_all()
            .build()
            .expect("the query runtime starts")
    });
    EXECUTOR.handle()
}

/// A DataFusion session over the Blueshift catalog. Statements set their [`QueryContext`]
/// (snapshot, search path) in `cell` and in the config before planning.
///
/// [`QueryContext`]: crate::catalog::provider::QueryContext
pub fn session_state(cell: Arc<ContextCell>, services: Arc<Services>) -> SessionState {
    let cluster = Arc::clone(&services.cluster);
    // One partition per slice: scans map one-to-one onto slices, and no round-robin repartition
    // sits between a scan and the partial aggregate that runs beside it on the compute node.
    let partitions = (cluster.slice_count() as usize).max(1);
    let mut config = SessionConfig::new()
        .with_default_catalog_and_schema(DATABASE, SEARCH_PATH_SCHEMA)
        .with_create_default_catalog_and_schema(false)
        .with_information_schema(false)
        .with_target_partitions(partitions)
        // Queries name the node behind a lost connection (see `Cluster::name_lost_node`).
        .with_extension(Arc::clone(&cluster));
    let options = config.options_mut();
    options.sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
    options.sql_parser.parse_float_as_decimal = true;
    options.execution.time_zone = Some("+00:00".to_string());
    let builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_catalog_list(Arc::new(BlueshiftCatalogList::new(Arc::clone(&cell), services)))
        .with_physical_optimizer_rule(Arc::new(distribute::DistributeScans {
            layout: distribute::Layout::of(&cluster),
        }))
        .with_distributed_worker_resolver(distribute::ClusterWorkers(Arc::clone(&cluster)))
        .with_distributed_user_codec(BlueshiftCodec)
        .with_distributed_route_tasks_handler(distribute::route_tasks_to_nodes(distribute::Layout::of(&cluster)))
        .with_distributed_planner();
    // DistributeScans places every network boundary itself. A plan it leaves alone reads only
    // leader-side data (catalog and system tables, VALUES): the library's own cardinality-based
    // distribution must keep that in one task on the leader, since compute nodes could neither
    // decode those leaves nor read the data behind them.
    let builder = builder
        .with_distributed_metrics_collection(true)
        .expect("metrics collection is a valid option")
        .with_distributed_max_tasks_per_stage(1)
        .expect("the task limit is a valid option");
    let mut state = builder.with_analyzer_rules(analyzer_rules()).build();
    for function in functions::redshift_functions()
        .into_iter()
        .chain(interval_arithmetic::interval_functions())
        .chain(catalog_functions::catalog_functions(&cell))
        .chain([blueshift_compute::shuffle::slice_route(), blueshift_compute::to_char::to_char()])
    {
        state
            .register_udf(function)
            .expect("registering a scalar function cannot fail");
    }
    state
}
