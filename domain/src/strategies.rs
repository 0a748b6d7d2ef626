//! Reloading the strategy plugins on an administrator's request: the same rescan the
//! server's file watcher runs, on demand, for an operator who wants to know now (and why a
//! file was refused) rather than wait for the next poll.

use std::sync::{Arc, RwLock};

use entmoot_plugin_host::{PluginRegistry, RefusedPlugin, ReloadReport, StrategyInfo};

use crate::caller::Caller;

/// The registry after a reload.
#[derive(Debug, Clone)]
pub struct StrategyReload {
    /// What this reload changed (often nothing: the watcher may have been first).
    pub report: ReloadReport,
    /// Every strategy now loaded, sorted by name then version (newest first).
    pub strategies: Vec<StrategyInfo>,
    /// Every plugin file currently refused, with the reason, including files refused
    /// by earlier reloads.
    pub refused: Vec<RefusedPlugin>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadStrategiesError {
    #[error(
        "reloading strategies is for the operator (an admin of the local organization); the server also reloads by itself within seconds of a file change"
    )]
    Forbidden,
    #[error("the plugin reload task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// The organization whose admins operate the process (reload plugins, see server
/// paths): the local organization every server creates at its first start. Other
/// organizations are tenants, whose admins reach their own data only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorOrganization(pub uuid::Uuid);

/// Rescans the plugin directories and swaps the registry (see
/// `entmoot_plugin_host::reload_plugins`): running jobs keep the version they hold.
/// The registry is the process's, shared by every organization: only the operator
/// reloads it.
pub async fn reload_strategies(
    plugins: &Arc<RwLock<PluginRegistry>>,
    caller: &Caller,
    operator: OperatorOrganization,
) -> Result<StrategyReload, ReloadStrategiesError> {
    if !caller.is_admin() || caller.organization_id != operator.0 {
        return Err(ReloadStrategiesError::Forbidden);
    }
    let plugins = Arc::clone(plugins);
    // Handshakes are blocking work (a child process per new file).
    tokio::task::spawn_blocking(move || {
        let report = entmoot_plugin_host::reload_plugins(&plugins);
        let registry = plugins
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        StrategyReload {
            report,
            strategies: registry.strategies(),
            refused: registry.refused(),
        }
    })
    .await
    .map_err(ReloadStrategiesError::Task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Role;

    fn caller(role: Role) -> Caller {
        Caller::acting_for(uuid::Uuid::nil(), role)
    }

    #[tokio::test]
    async fn only_an_administrator_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = std::env::temp_dir();
        let plugins = Arc::new(RwLock::new(PluginRegistry::new(
            entmoot_plugin_host::HostSettings::new(
                vec![dir.path().to_path_buf()],
                Vec::new(),
                scratch.clone(),
                entmoot_plugin_host::RunOptions::in_process(scratch),
            ),
        )));
        let operator = OperatorOrganization(uuid::Uuid::nil());
        for role in [Role::Viewer, Role::Editor] {
            assert!(matches!(
                reload_strategies(&plugins, &caller(role), operator).await,
                Err(ReloadStrategiesError::Forbidden)
            ));
        }
        let tenant_admin = Caller::acting_for(uuid::Uuid::now_v7(), Role::Admin);
        assert!(matches!(
            reload_strategies(&plugins, &tenant_admin, operator).await,
            Err(ReloadStrategiesError::Forbidden)
        ));
        std::fs::write(dir.path().join("libbroken.so"), b"not a library").unwrap();
        let reloaded = reload_strategies(&plugins, &caller(Role::Admin), operator)
            .await
            .unwrap();
        assert!(reloaded.strategies.is_empty());
        assert_eq!(reloaded.refused.len(), 1);
        assert_eq!(reloaded.report.refused, reloaded.refused);
    }
}
