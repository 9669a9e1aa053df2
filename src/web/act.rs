//! The page's actions on one service's container: restart, stop, start.
//! The container's readiness is forgotten, so it is probed again once running.
//! Must not: print.

use super::http::Action;
use super::live::Live;

/// Do `action` on `service`'s container; `Ok` says what was done, `Err` why not.
pub async fn act(live: &Live, service: &str, action: Action) -> Result<String, String> {
    let Some(c) = live.container_of(service) else {
        return Err(format!("service `{service}` has no container in project `{}` (start it with `devenv up -d {service}`)", live.project));
    };
    let docker = &live.docker;
    live.forget_probe(&c.id);
    let done = match action {
        Action::Stop => docker.stop(&c.id, None).await.map(|()| format!("stopped {service}")),
        Action::Start => docker.start(&c.id, service).await.map(|()| format!("started {service}")),
        Action::Restart => match docker.stop(&c.id, None).await {
            Ok(()) => docker.start(&c.id, service).await.map(|()| format!("restarted {service}")),
            Err(e) => Err(e),
        },
    };
    live.forget_probe(&c.id);
    done.map_err(|e| e.to_string())
}
