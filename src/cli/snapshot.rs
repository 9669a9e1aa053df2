//! `devenv snapshot save|ls|restore|rm|export|import`: copies of the project's data volumes
//! (see `engine::snapshot` for what a snapshot holds and how it is made).
//!
//! `save`, `restore`, `rm` and `import` hold the project's lock (one devenv per project at a
//! time). Ctrl-C while copies run: a copy is never stopped half-way (it runs in the
//! engine); devenv says so, waits for it, brings the services back and exits
//! 130. A second Ctrl-C stops waiting: the copy still completes in the engine,
//! and the stopped services stay stopped until `devenv up`.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};

use super::{interrupted, load_plan, Global};
use crate::docker::Docker;
use crate::engine::snapshot::{self, SnapshotInfo};
use crate::engine::snapshot_share as share;
use crate::error::{exit, Error};
use crate::plan::Plan;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Copy the data of services with named volumes (all of them by default)
    #[command(after_help = "Examples:\n  devenv snapshot save seeded           every service with data\n  devenv snapshot save before-mig db    only db\n  devenv snapshot save                  named after the time (20261203-140501)")]
    Save {
        /// Snapshot name [default: the current time, YYYYMMDD-HHMMSS]
        name: Option<String>,
        /// Services to include [default: every service with a named volume]
        services: Vec<String>,
    },
    /// List this project's snapshots: name, services, size, age
    #[command(visible_alias = "list", after_help = "Examples:\n  devenv snapshot ls\n  devenv snapshot ls --json | jq -r '.[].name'")]
    Ls {
        /// JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Put a snapshot's data back (the services are stopped for the copy, then started and probed)
    #[command(after_help = "Examples:\n  devenv snapshot restore seeded        every service the snapshot holds\n  devenv snapshot restore seeded db     only db")]
    Restore {
        name: String,
        /// Services to restore [default: every service the snapshot holds]
        services: Vec<String>,
    },
    /// Delete a snapshot
    #[command(after_help = "Examples:\n  devenv snapshot rm seeded")]
    Rm { name: String },
    /// Write a snapshot to one compressed file (manifest and checksum inside), to hand on or cache
    #[command(after_help = "Examples:\n  devenv snapshot export seeded -o seeded.devenv.tgz\n  devenv snapshot export seeded -o - | ssh host 'cat > seeded.devenv.tgz'")]
    Export {
        name: String,
        /// The file to write (`-`: standard output); written whole or not at all
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Store a snapshot from an exported file (verified whole before anything is created)
    #[command(after_help = "Examples:\n  devenv snapshot import seeded.devenv.tgz                  as the name it was exported with\n  devenv snapshot import seeded.devenv.tgz --name base      under another name\n  devenv snapshot import seeded.devenv.tgz --force          replace a snapshot of that name\n  devenv snapshot import theirs.tgz --from-project shop     a snapshot of another project")]
    Import {
        file: PathBuf,
        /// Store it under this name [default: the name in the file]
        #[arg(long, value_name = "NEW")]
        name: Option<String>,
        /// Replace a snapshot of that name
        #[arg(long)]
        force: bool,
        /// Accept a snapshot saved in another project (name it, as the error shows)
        #[arg(long, value_name = "PROJECT")]
        from_project: Option<String>,
    },
}

pub async fn run(global: &Global, args: SnapshotArgs, ui: &Ui) -> Result<u8, Error> {
    let (_env, plan) = load_plan(global, ui)?;
    let docker = Docker::connect().await?;
    match args.action {
        Action::Ls { json } => ls(&docker, &plan.project, json).await,
        Action::Rm { name } => {
            let _lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
            rm(&super::snapshot_session(docker, plan, ui), &name, ui).await
        }
        Action::Export { name, output } => export(&docker, &plan, &name, &output, ui).await,
        Action::Import { file, name, force, from_project } => {
            let _lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
            let t0 = Instant::now();
            let opts = share::ImportOptions { name, force, from_project };
            let info = share::import(&docker, &plan, &file, &opts, ui, interrupted()).await?;
            let services = info.services.keys().cloned().collect::<Vec<_>>().join(", ");
            ui.done(format!("imported snapshot `{}` from {}: {services} ({}); `devenv snapshot restore {}` puts it back", info.name, file.display(), size(info.size_kib), info.name), t0.elapsed());
            Ok(exit::OK)
        }
        Action::Save { name, services } => {
            let lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
            let name = name.unwrap_or_else(|| chrono::Local::now().format("%Y%m%d-%H%M%S").to_string());
            let t0 = Instant::now();
            let session = super::snapshot_session(docker, plan, ui);
            let (info, next) = finish_first(session.save_deferred(&name, &services), ui).await?;
            ui.done(format!("saved snapshot `{name}`: {} ({})", info.services.keys().cloned().collect::<Vec<_>>().join(", "), size(info.size_kib)), t0.elapsed());
            super::prepare::after(&lock, &session.plan().project, vec![next], ui).await?;
            Ok(exit::OK)
        }
        Action::Restore { name, services } => {
            let lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
            let t0 = Instant::now();
            let session = super::snapshot_session(docker, plan, ui);
            let project = session.plan().project.clone();
            let (restored, next) = finish_first(session.restore_deferred(&project, &name, &services), ui).await?;
            ui.done(format!("restored snapshot `{name}`: {}", restored.join(", ")), t0.elapsed());
            super::prepare::after(&lock, &project, vec![next], ui).await?;
            Ok(exit::OK)
        }
    }
}

/// Run `work` to its end even on a first Ctrl-C (then report it and return
/// `Interrupted`); a second Ctrl-C stops waiting.
async fn finish_first<T>(work: impl Future<Output = Result<T, Error>>, ui: &Ui) -> Result<T, Error> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => return r,
        _ = interrupted() => {}
    }
    ui.warn("interrupted: a copy in progress is never stopped half-way; finishing it and starting the services again (Ctrl-C again to stop waiting)");
    tokio::select! {
        r = &mut work => {
            r?;
            ui.warn("interrupted: the snapshot operation was completed first");
        }
        _ = interrupted() => {
            ui.warn("stopped waiting: the copy completes in the engine; services stopped for it stay stopped until `devenv up -d`");
        }
    }
    Err(Error::Interrupted)
}

async fn ls(docker: &Docker, project: &str, json: bool) -> Result<u8, Error> {
    let all = snapshot::list(docker, project).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all).map_err(|e| Error::Other(e.to_string()))?);
        return Ok(exit::OK);
    }
    if all.is_empty() {
        println!("no snapshots of project `{project}` (make one: devenv snapshot save NAME)");
        return Ok(exit::OK);
    }
    let rows: Vec<[String; 4]> = all.iter().map(row).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0).max(["NAME", "SERVICES", "SIZE", "AGE"][i].len());
    let (a, b, c) = (width(0), width(1), width(2));
    println!("{:a$}  {:b$}  {:c$}  AGE", "NAME", "SERVICES", "SIZE");
    for r in rows {
        println!("{:a$}  {:b$}  {:c$}  {}", r[0], r[1], r[2], r[3]);
    }
    let total: u64 = all.iter().map(|s| s.size_kib).sum();
    println!("{} in Docker volumes {project}_snapshot_* (docker volume ls --filter label=dev.devenv.snapshot-of={project})", size(total));
    Ok(exit::OK)
}

fn row(s: &SnapshotInfo) -> [String; 4] {
    let services = s.services.iter().map(|(svc, image)| format!("{svc} ({image})")).collect::<Vec<_>>().join(", ");
    [s.name.clone(), services, size(s.size_kib), age(&s.created_at)]
}

async fn rm(session: &crate::engine::Session, name: &str, ui: &Ui) -> Result<u8, Error> {
    let project = &session.plan().project;
    let all = session.snapshots().await?;
    let removed = session.snapshot_rm(name).await?;
    if removed == 0 {
        let have: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::Usage {
            message: format!("no snapshot `{name}` of project `{project}`"),
            hint: Some(if have.is_empty() { "there are none".into() } else { format!("snapshots: {}", have.join(", ")) }),
        });
    }
    ui.info(format!("removed snapshot `{name}`"));
    Ok(exit::OK)
}

/// Export to `output`: a file is written as `<output>.partial` and renamed
/// when complete (a failed export leaves no file); `-` streams to stdout.
async fn export(docker: &Docker, plan: &Plan, name: &str, output: &Path, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    if output == Path::new("-") {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() || ui.mode() == crate::ui::ProgressMode::Json {
            return Err(Error::Usage {
                message: "`-o -` writes the compressed file to standard output, which is a terminal (or carries --progress json)".into(),
                hint: Some("redirect it (`devenv snapshot export NAME -o - > file.tgz`), pipe it, or write a file with `-o FILE`".into()),
            });
        }
        let out = std::io::BufWriter::new(std::io::stdout());
        let (mut out, m, sha) = share::export(docker, plan, name, out, ui).await?;
        out.flush().map_err(|e| Error::Other(format!("write the snapshot to standard output: {e}")))?;
        ui.done(format!("exported snapshot `{name}` ({} volumes, sha256 {sha})", m.volumes.len()), t0.elapsed());
        return Ok(exit::OK);
    }
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let cannot = |e: std::io::Error| Error::Usage { message: format!("cannot write {}: {e}", output.display()), hint: Some("nothing was written; free some space or choose another place with `-o`".into()) };
    let file = std::fs::File::create(&partial).map_err(cannot)?;
    let work = async {
        let (out, m, sha) = share::export(docker, plan, name, std::io::BufWriter::with_capacity(256 * 1024, file), ui).await?;
        let file = out.into_inner().map_err(|e| cannot(e.into_error()))?;
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&partial, output).map_err(cannot)?;
        Ok::<_, Error>((m, sha))
    };
    // Ctrl-C: stop, and leave no file (nor the helper it read through).
    let result = tokio::select! {
        r = work => r,
        () = interrupted() => Err(Error::Interrupted),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
        let _ = share::remove_io_helpers(docker, &plan.project, name).await;
    }
    let (m, sha) = result?;
    let bytes = std::fs::metadata(output).map(|x| x.len()).unwrap_or(0);
    let content: u64 = m.volumes.iter().map(|v| v.bytes).sum();
    ui.done(format!("exported snapshot `{name}` to {} ({} compressed, {} of data; sha256 {sha})", output.display(), size(bytes / 1024), size(content / 1024)), t0.elapsed());
    Ok(exit::OK)
}

fn size(kib: u64) -> String {
    match kib {
        k if k >= 1024 * 1024 => format!("{:.1} GiB", k as f64 / (1024.0 * 1024.0)),
        k if k >= 1024 => format!("{:.1} MiB", k as f64 / 1024.0),
        k => format!("{k} KiB"),
    }
}

fn age(created_at: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(created_at) else { return "?".into() };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds().max(0) as u64;
    crate::values::format_duration(std::time::Duration::from_secs(secs)) + " ago"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_du_h() {
        assert_eq!(size(12), "12 KiB");
        assert_eq!(size(1536), "1.5 MiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 GiB");
    }
}
