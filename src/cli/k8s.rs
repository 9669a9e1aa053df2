//! `devenv k8s render|lint|up|status|down`: the environment in a local
//! kind/k3d cluster, or an existing one (`--context`: a namespace per
//! developer, built images pushed to `--registry`, production-looking
//! contexts refused), beside the team's own manifests (`k8s.manifests`).
//! The registry side (push on `up`, content-hash references on `render
//! --registry`) is `push`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use super::{load_plan, Global};
use crate::config::{ConfigError, LoadedEnv};
use crate::error::{exit, Error};
use crate::k8s::cluster::{self, Cluster, Target};
use crate::k8s::lint::{self, schema};
use crate::k8s::manifest::{self, Source};
use crate::k8s::runner::{Runner, SystemRunner};
use crate::k8s::spec::{self, K8sSpec, Provider};
use crate::k8s::{render, Rendered};
use crate::plan::Plan;
use crate::ui::Ui;

mod push;

#[derive(Debug, Args)]
pub struct K8sArgs {
    #[command(subcommand)]
    pub command: K8sCommand,
}

#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Print (or write) Kubernetes manifests generated from the environment file
    #[command(after_help = "Examples:\n  devenv k8s render                      one YAML stream on stdout\n  devenv k8s render -o k8s/generated     00-namespace.yaml + one file per service\n  devenv k8s render --namespace shop-ci | kubectl apply -f -\n  devenv k8s render --registry registry.example.com/team\n                                         built images as <registry>/<project>-<service>:<content hash> (built first; not pushed)")]
    Render(RenderArgs),
    /// Check the rendered manifests and the team's own: Kubernetes schemas plus cross-object checks
    #[command(after_help = "Examples:\n  devenv k8s lint                        rendered + k8s.manifests, schemas of the newest supported Kubernetes\n  devenv k8s lint k8s/overlays/dev       those paths (files, directories, kustomize directories) + rendered\n  devenv k8s lint --kube-version 1.27 --kube-version 1.33\n\nNeeds `kubernetes-validate` (pip install kubernetes-validate) unless --skip-schema.\nExit code 1 when an error is found.")]
    Lint(LintArgs),
    /// Create or reuse a kind/k3d cluster (or use --context), load (or push) images, apply everything, wait until ready, run seeds
    #[command(after_help = "Examples:\n  devenv k8s up                          then port-forward the published ports until Ctrl-C\n  devenv k8s up -d                       return once ready; print the port-forward commands\n  devenv k8s up --provider k3d --name shop\n  devenv k8s up -d --context dev-eks --registry registry.example.com/team\n                                         an existing cluster: namespace <project>-<user>, built images pushed there\n  devenv k8s up -d --build               build the images again (after a code change), then push or load what changed")]
    Up(UpArgs),
    /// Show what runs in the cluster: devenv's objects and the team's
    #[command(after_help = "Examples:\n  devenv k8s status\n  devenv k8s status --name shop")]
    Status(StatusArgs),
    /// Delete what `k8s up` applied (`-v`: also volume claims and seed jobs; `--delete-cluster`: everything)
    #[command(after_help = "Examples:\n  devenv k8s down                        keep data (volume claims) and the cluster\n  devenv k8s down -v                     also the data and the namespace devenv created\n  devenv k8s down --delete-cluster       delete the whole cluster")]
    Down(DownArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Write 00-namespace.yaml and one <service>.yaml per service into DIR instead of printing one stream
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Namespace [default: k8s.namespace, else the project name]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Reference built images in this registry under their content-hash tags (built locally first; nothing is pushed) [default: k8s.registry]
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Manifest files, directories or kustomize directories [default: the file's k8s.manifests]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Kubernetes version of the schemas (repeatable) [default: k8s.kube_version, else the newest supported]
    #[arg(long = "kube-version", value_name = "VERSION")]
    pub kube_versions: Vec<String>,
    /// Namespace for objects that name none [default: k8s.namespace, else the project name]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only devenv's own checks (no kubernetes-validate)
    #[arg(long)]
    pub skip_schema: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// kind or k3d [default: k8s.provider, else whichever is installed, kind first]
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
    /// Cluster name [default: k8s.cluster, else `devenv`]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Namespace [default: k8s.namespace, else the project name; with a context: <project>-<user>]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Use this existing cluster of your kubeconfig instead of a local kind/k3d one [default: k8s.context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Use the context even though its name or server looks like production (must repeat the context's name)
    #[arg(long = "allow-context", value_name = "NAME")]
    pub allow_context: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Push the images devenv builds to this registry (host[:port][/path]) and use them from there [default: k8s.registry]
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Return once everything is ready (print the port-forward commands instead of running them)
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Build the services' images again, not only the missing ones (an unchanged build keeps its id, so its tag: not pushed again)
    #[arg(long)]
    pub build: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also delete volume claims (data), seed jobs and the namespace devenv created
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Delete the whole cluster
    #[arg(long)]
    pub delete_cluster: bool,
}

pub async fn run(global: &Global, args: K8sArgs, ui: &Ui) -> Result<u8, Error> {
    match args.command {
        K8sCommand::Render(a) => render_cmd(global, a, ui).await,
        K8sCommand::Lint(a) => lint_cmd(global, a, ui),
        K8sCommand::Up(a) => up_cmd(global, a, ui).await,
        K8sCommand::Status(a) => status_cmd(global, a, ui),
        K8sCommand::Down(a) => down_cmd(global, a, ui),
    }
}

/// The file, its plan, its `k8s:` settings and the rendering.
struct Setup {
    env: LoadedEnv,
    plan: Plan,
    spec: K8sSpec,
    rendered: Rendered,
    /// The existing cluster's context (`--context`, else `k8s.context`); None: a local kind/k3d cluster.
    context: Option<String>,
}

fn check_namespace(ns: &str) -> Result<(), Error> {
    if spec::is_dns_label(ns) {
        return Ok(());
    }
    Err(Error::Usage { message: format!("invalid namespace {ns:?}"), hint: Some("a namespace is a DNS label: lowercase letters, digits and `-`, at most 63".into()) })
}

/// Who runs devenv, for the per-developer namespace (`$USER`, `$LOGNAME`, `$USERNAME`).
fn user_name() -> String {
    ["USER", "LOGNAME", "USERNAME"].iter().filter_map(|k| std::env::var(k).ok()).find(|u| !u.trim().is_empty()).unwrap_or_else(|| "dev".into())
}

/// `-n`, else `k8s.namespace`, else on a shared cluster `<project>-<user>`, else the project name.
pub(crate) fn namespace_of(namespace: Option<&str>, spec: &K8sSpec, project: &str, shared: bool) -> String {
    let default = if shared { spec::default_namespace(&format!("{project}-{}", user_name())) } else { spec::default_namespace(project) };
    namespace.map(str::to_string).or_else(|| spec.namespace.clone()).unwrap_or(default)
}

fn setup(global: &Global, namespace: Option<&str>, context: Option<&str>, ui: &Ui) -> Result<Setup, Error> {
    let (env, plan) = load_plan(global, ui)?;
    let spec = spec::parse(&env, &plan)?;
    let context = context.map(str::to_string).or_else(|| spec.context.clone());
    let ns = namespace_of(namespace, &spec, &plan.project, context.is_some());
    check_namespace(&ns)?;
    let rendered = render(&env, &plan, &spec, &ns)?;
    for w in &rendered.warnings {
        ui.warn(w.clone());
    }
    Ok(Setup { env, plan, spec, rendered, context })
}

/// `k8s.manifests` as sources (their paths were checked when parsing).
fn sources(env: &LoadedEnv, spec: &K8sSpec) -> Result<Vec<Source>, Error> {
    spec.manifests
        .iter()
        .map(|m| {
            Source::classify(&m.path).map_err(|e| {
                Error::Config(ConfigError { file: env.file.clone(), pos: env.locations.get(&m.yaml_path), yaml_path: m.yaml_path.clone(), message: e, hint: None })
            })
        })
        .collect()
}

async fn render_cmd(global: &Global, a: RenderArgs, ui: &Ui) -> Result<u8, Error> {
    let mut s = setup(global, a.namespace.as_deref(), None, ui)?;
    if let Some(r) = registry_of(a.registry.as_deref(), &s.spec)? {
        push::reference_built(&mut s, &r, ui).await?;
    }
    match a.output {
        Some(dir) => {
            let files = s.rendered.write_dir(&dir).map_err(Error::Other)?;
            ui.info(format!("wrote {} files to {} (namespace `{}`)", files.len(), dir.display(), s.rendered.namespace));
        }
        None => print!("{}", s.rendered.stream()),
    }
    Ok(exit::OK)
}

/// image → the service that builds it.
fn built_images(plan: &Plan) -> BTreeMap<String, String> {
    plan.services.values().filter(|s| s.build.is_some()).map(|s| (s.image.clone(), s.name.clone())).collect()
}

fn lint_cmd(global: &Global, a: LintArgs, ui: &Ui) -> Result<u8, Error> {
    let runner = SystemRunner;
    let cwd = std::env::current_dir().map_err(|e| Error::Other(format!("cannot read the current directory: {e}")))?;
    // With explicit paths, a missing environment file is fine: lint just those.
    let loaded = match setup(global, a.namespace.as_deref(), None, ui) {
        Ok(s) => Some(s),
        Err(Error::Config(e)) if !a.paths.is_empty() && global.files.is_empty() && !e.file.exists() => None,
        Err(e) => return Err(e),
    };
    let mut srcs = Vec::new();
    if a.paths.is_empty() {
        if let Some(s) = &loaded {
            srcs = sources(&s.env, &s.spec)?;
        }
    } else {
        for p in &a.paths {
            let abs = crate::config::volumes::normalize(&cwd.join(p));
            srcs.push(Source::classify(&abs).map_err(|e| Error::Usage { message: e, hint: Some("pass manifest files, directories or kustomize directories".into()) })?);
        }
    }
    let mut versions: Vec<String> = Vec::new();
    for v in &a.kube_versions {
        versions.push(spec::normalize_version(v).ok_or_else(|| Error::Usage { message: format!("invalid --kube-version {v:?}"), hint: Some("e.g. --kube-version 1.33".into()) })?);
    }
    if versions.is_empty() {
        versions = loaded.as_ref().map(|s| s.spec.kube_versions.clone()).unwrap_or_default();
    }
    if versions.is_empty() {
        versions.push(schema::NEWEST.to_string());
    }
    if a.skip_schema {
        versions.clear();
    }
    let namespace = match (&loaded, &a.namespace) {
        (Some(s), _) => s.rendered.namespace.clone(),
        (None, Some(ns)) => ns.clone(),
        (None, None) => "default".to_string(),
    };
    let built = loaded.as_ref().map(|s| built_images(&s.plan)).unwrap_or_default();
    let input = lint::Input { rendered: loaded.as_ref().map(|s| &s.rendered), sources: &srcs, namespace: &namespace, versions: &versions, built: &built };
    let report = lint::run(&input, &runner).map_err(|e| {
        let mut message = e.message;
        for d in &e.detail {
            message.push_str("\n  │ ");
            message.push_str(d);
        }
        if e.missing_tool { Error::Tool { message, hint: e.hint } } else { Error::Other(message + &e.hint.map(|h| format!("\nhint: {h}")).unwrap_or_default()) }
    })?;
    for f in &report.findings {
        println!("{f}");
    }
    let schemas = if versions.is_empty() { "no schema validation".to_string() } else { format!("schemas of Kubernetes {}", versions.join(", ")) };
    let rendering = loaded.as_ref().map(|s| s.rendered.warnings.len()).unwrap_or(0);
    let summary = lint_summary(report.documents, &schemas, report.errors(), report.findings.len() - report.errors(), rendering);
    if report.errors() > 0 {
        eprintln!("{summary}");
        return Ok(exit::FAILURE);
    }
    ui.info(summary);
    Ok(exit::OK)
}

/// The last line of `k8s lint`: the warnings counted are every warning it
/// printed — the lint's own and the rendering's (printed before the findings).
fn lint_summary(documents: usize, schemas: &str, errors: usize, lint_warnings: usize, rendering: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let from_rendering = if rendering > 0 { format!(" ({rendering} from rendering, above)") } else { String::new() };
    format!("{documents} documents checked ({schemas}): {errors} errors, {}{from_rendering}", plural(lint_warnings + rendering, "warning"))
}

#[cfg(test)]
mod namespace_tests {
    #[test]
    fn a_shared_cluster_gets_a_namespace_per_developer() {
        let spec = super::K8sSpec::default();
        let user = super::user_name();
        assert_eq!(super::namespace_of(None, &spec, "shop", true), crate::k8s::spec::default_namespace(&format!("shop-{user}")));
        assert_eq!(super::namespace_of(None, &spec, "shop", false), "shop");
        assert_eq!(super::namespace_of(Some("x"), &spec, "shop", true), "x");
        let spec = super::K8sSpec { namespace: Some("team".into()), ..Default::default() };
        assert_eq!(super::namespace_of(None, &spec, "shop", true), "team");
    }
}

#[cfg(test)]
mod summary_tests {
    #[test]
    fn the_summary_counts_the_warnings_it_printed() {
        assert_eq!(super::lint_summary(5, "no schema validation", 0, 0, 0), "5 documents checked (no schema validation): 0 errors, 0 warnings");
        assert_eq!(super::lint_summary(5, "x", 1, 1, 2), "5 documents checked (x): 1 errors, 3 warnings (2 from rendering, above)");
        assert_eq!(super::lint_summary(2, "x", 0, 0, 1), "2 documents checked (x): 0 errors, 1 warning (1 from rendering, above)");
    }
}

fn target(a: &ClusterArgs, s: &Setup, provider: Provider) -> Result<Target, Error> {
    let cluster = a.name.clone().or_else(|| s.spec.cluster.clone()).unwrap_or_else(|| spec::DEFAULT_CLUSTER.to_string());
    if !spec::is_dns_label(&cluster) {
        return Err(Error::Usage { message: format!("invalid cluster name {cluster:?}"), hint: Some("use lowercase letters, digits and `-` (at most 63)".into()) });
    }
    let owner = s.context.as_ref().map(|_| spec::default_namespace(&user_name()));
    Ok(Target { provider, cluster, namespace: s.rendered.namespace.clone(), project: s.plan.project.clone(), existing: s.context.clone(), owner })
}

/// The cluster to work on. An existing context (`--context`, `k8s.context`): read its
/// server from the kubeconfig, refuse it when it looks like production (unless
/// `--allow-context` names it), and say where devenv is about to act. Else the local
/// kind/k3d cluster.
fn connect<'a>(a: &ClusterArgs, s: &Setup, runner: &'a dyn Runner, ui: &'a Ui) -> Result<Cluster<'a>, Error> {
    if s.context.is_some() {
        cluster::require_kubectl(runner)?;
        let c = Cluster::new(runner, ui, target(a, s, a.provider.or(s.spec.provider).unwrap_or(Provider::Kind))?);
        let info = c.context_info()?;
        let markers: Vec<String> = s.spec.production_markers.clone().unwrap_or_else(|| spec::DEFAULT_PRODUCTION_MARKERS.iter().map(|m| m.to_string()).collect());
        cluster::check_not_production(&info, &markers, a.allow_context.as_deref())?;
        ui.info(format!("context `{}`, server {}, namespace `{}`", info.context, info.server, c.target.namespace));
        return Ok(c);
    }
    let provider = cluster::detect(runner, a.provider.or(s.spec.provider))?;
    Ok(Cluster::new(runner, ui, target(a, s, provider)?))
}

/// On a shared cluster, the team's manifests must stay in the developer's namespace:
/// an object in another namespace, or a cluster-scoped one, is every developer's.
fn stays_in_namespace(c: &Cluster, team: &[manifest::Manifest]) -> Result<(), Error> {
    if c.target.existing.is_none() {
        return Ok(());
    }
    let outside = cluster::outside_namespace(team, &c.target.namespace);
    if outside.is_empty() {
        return Ok(());
    }
    Err(Error::Usage {
        message: format!(
            "on a shared cluster, the team's manifests must stay in namespace `{}`; these would be applied (and deleted by `down`) for every developer alike:\n  {}",
            c.target.namespace,
            outside.join("\n  ")
        ),
        hint: Some("remove `metadata.namespace` from them (or use a kustomize overlay for the shared cluster without them); cluster-wide objects belong to the cluster's admins".into()),
    })
}

/// Where the cluster is, for messages: `kind cluster `devenv`` / `context `dev-eks``.
fn place(c: &Cluster) -> String {
    match &c.target.existing {
        Some(ctx) => format!("context `{ctx}`"),
        None => format!("{} cluster `{}`", c.target.provider.name(), c.target.cluster),
    }
}

/// `--registry`, else `k8s.registry`.
fn registry_of(flag: Option<&str>, spec: &K8sSpec) -> Result<Option<String>, Error> {
    match flag {
        Some(r) => Ok(Some(spec::parse_registry(r).map_err(|m| Error::Usage { message: m, hint: Some("e.g. --registry registry.example.com/team".into()) })?)),
        None => Ok(spec.registry.clone()),
    }
}

/// Load the sources' manifests (for images and rollouts); a broken source stops `up`.
fn team_manifests(srcs: &[Source], runner: &dyn Runner) -> Result<Vec<manifest::Manifest>, Error> {
    let mut out = Vec::new();
    for src in srcs {
        let (ms, problems) = manifest::load_source(src, runner).map_err(|e| {
            let message = std::iter::once(e.message).chain(e.detail.into_iter().map(|d| format!("  │ {d}"))).collect::<Vec<_>>().join("\n");
            if e.missing_tool { Error::Tool { message, hint: e.hint } } else { Error::Other(message) }
        })?;
        if let Some(p) = problems.first() {
            return Err(Error::Other(format!("{}: run `devenv k8s lint`", lint::Finding::from_problem(p))));
        }
        out.extend(ms);
    }
    Ok(out)
}

/// Build the services' images that are missing; return every image (rendered or the team's) present locally.
async fn images_to_load(s: &Setup, team: &[manifest::Manifest], rebuild: bool, ui: &Ui) -> Result<Vec<String>, Error> {
    let docker = crate::docker::Docker::connect().await?;
    let mut images: Vec<String> = Vec::new();
    for rs in &s.rendered.services {
        let Some(svc) = s.plan.services.get(&rs.name) else { continue };
        if let (Some(img), Some(build)) = (&rs.built_image, &svc.build)
            && (rebuild || docker.image_id(img).await?.is_none())
        {
            crate::engine::build_image(&docker, &s.plan.project, svc, build, ui).await?;
        }
        if !images.contains(&svc.image) {
            images.push(svc.image.clone());
        }
    }
    for m in team {
        for (_, img, _) in lint::images::images_of(m) {
            if !images.contains(&img) {
                images.push(img);
            }
        }
    }
    let mut local = Vec::new();
    for img in images {
        if docker.image_id(&img).await?.is_some() {
            local.push(img);
        }
    }
    Ok(local)
}

async fn up_cmd(global: &Global, a: UpArgs, ui: &Ui) -> Result<u8, Error> {
    let started = Instant::now();
    let mut s = setup(global, a.cluster.namespace.as_deref(), a.cluster.context.as_deref(), ui)?;
    let registry = registry_of(a.registry.as_deref(), &s.spec)?;
    let runner = SystemRunner;
    let c = connect(&a.cluster, &s, &runner, ui)?;
    if c.target.existing.is_none() {
        cluster::require_kubectl(&runner)?;
    }
    let srcs = sources(&s.env, &s.spec)?;
    let team = team_manifests(&srcs, &runner)?;
    stays_in_namespace(&c, &team)?;
    let team_workloads = cluster::TeamWorkload::of(&team);
    // The cluster first: building images is wasted if it cannot be created.
    c.ensure()?;
    let shared = c.target.existing.is_some();
    match &registry {
        Some(r) => push::push_built(&mut s, r, a.build, ui).await?,
        None if shared => {
            if let Some(rs) = s.rendered.services.iter().find(|r| r.built_image.is_some()) {
                return Err(Error::Usage {
                    message: format!("`{}` builds its image, and {} cannot use an image built on this machine", rs.name, place(&c)),
                    hint: Some("push it through a registry the cluster pulls from: set k8s.registry or pass --registry host[/path]".into()),
                });
            }
        }
        None => {}
    }
    let images = if shared { Vec::new() } else { images_to_load(&s, &team, a.build, ui).await? };
    c.deploy(&s.rendered, &srcs, &team_workloads, &images)?;
    ui.done(format!("ready in {}, namespace `{}`", place(&c), c.target.namespace), started.elapsed());
    print_access(&c, &s.rendered, a.detach);
    if a.detach {
        return Ok(exit::OK);
    }
    forward_until_interrupted(&c, &s.rendered, ui).await
}

fn print_access(c: &Cluster, r: &Rendered, detach: bool) {
    for s in &r.services {
        for f in &s.forwards {
            if detach {
                println!("{:<16} kubectl {}", s.name, c.port_forward(&s.name, f).args.join(" "));
            } else {
                println!("{:<16} 127.0.0.1:{} → service/{}:{} (port-forward)", s.name, f.host_port, s.name, f.port);
            }
        }
    }
    for (svc, addr) in c.node_ports(r) {
        println!("{svc:<16} {addr} (NodePort)");
    }
}

/// Run the port-forwards until Ctrl-C; one that exits (a pod restarted) is started again.
async fn forward_until_interrupted(c: &Cluster<'_>, r: &Rendered, ui: &Ui) -> Result<u8, Error> {
    let mut running = c.start_forwards(r)?;
    if running.is_empty() {
        return Ok(exit::OK);
    }
    ui.info("port-forwarding; Ctrl-C stops (the cluster keeps running; `devenv k8s down` removes the environment)");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
        for note in c.restart_exited(&mut running) {
            ui.warn(note);
        }
    }
    for (_, _, child) in running.iter_mut() {
        child.kill();
    }
    Ok(exit::OK)
}

fn status_cmd(global: &Global, a: StatusArgs, ui: &Ui) -> Result<u8, Error> {
    let s = setup(global, a.cluster.namespace.as_deref(), a.cluster.context.as_deref(), ui)?;
    let runner = SystemRunner;
    let c = connect(&a.cluster, &s, &runner, ui)?;
    if c.target.existing.is_none() {
        cluster::require_kubectl(&runner)?;
    }
    if c.target.existing.is_none() && !c.exists()? {
        println!("{} does not exist (`devenv k8s up` creates it)", place(&c));
        return Ok(exit::OK);
    }
    let srcs = sources(&s.env, &s.spec)?;
    let rows = c.status_rows(&srcs)?;
    println!("{}, namespace {}", place(&c), c.target.namespace);
    if rows.is_empty() {
        println!("nothing applied (`devenv k8s up` applies the environment)");
        return Ok(exit::OK);
    }
    let w = rows.iter().map(|r| r[0].len()).max().unwrap_or(4).max(4);
    println!("{:<w$}  {:<5}  STATUS", "NAME", "READY");
    for r in rows {
        println!("{:<w$}  {:<5}  {}", r[0], r[1], r[2]);
    }
    print_access(&c, &s.rendered, true);
    Ok(exit::OK)
}

fn down_cmd(global: &Global, a: DownArgs, ui: &Ui) -> Result<u8, Error> {
    let started = Instant::now();
    let s = setup(global, a.cluster.namespace.as_deref(), a.cluster.context.as_deref(), ui)?;
    let runner = SystemRunner;
    let c = connect(&a.cluster, &s, &runner, ui)?;
    if c.target.existing.is_none() && !c.exists()? {
        ui.info(format!("{} does not exist: nothing to do", place(&c)));
        return Ok(exit::OK);
    }
    if a.delete_cluster {
        c.delete_cluster()?;
        ui.done(format!("deleted {}", place(&c)), started.elapsed());
        return Ok(exit::OK);
    }
    cluster::require_kubectl(&runner)?;
    let srcs = sources(&s.env, &s.spec)?;
    stays_in_namespace(&c, &team_manifests(&srcs, &runner)?)?;
    c.down(&srcs, a.volumes)?;
    let what = if a.volumes { "removed the environment, its data and namespace" } else { "removed the environment (data kept; -v removes it)" };
    ui.done(format!("{what} from {}, namespace `{}`", place(&c), c.target.namespace), started.elapsed());
    Ok(exit::OK)
}
