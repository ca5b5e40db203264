//! Every fault kind of the catalog, the same seed three times: nobody acts, a resolving action,
//! a worsening action (where the catalog has one). Each test checks the kind's distinguishing
//! signal and that customer error-minutes order resolve < none < worsen.

mod common;

use breakathon_scenario::ActionKind as A;
use breakathon_sim::{Action, ActionParams, InstancePhase};
use common::{Knobs, Outcome, logged, metrics, on, run, scale, scenario, set};

/// Fault injection tick in every test.
const INJECT: u64 = 60;
/// Tick at which the team acts.
const ACT: u64 = 150;
/// Ticks simulated.
const TICKS: u64 = 600;

fn fault(kind: &str, target: &str) -> String {
    format!(r#"(name: "f", kind: {kind}, target: {target}, trigger: At("{INJECT}s"))"#)
}

struct Trio {
    none: Outcome,
    resolve: Outcome,
    worsen: Option<Outcome>,
}

fn trio(fault: &str, knobs: Knobs, resolve: Vec<Action>, worsen: Vec<Action>) -> Trio {
    let s = scenario(fault, knobs);
    let at = |actions: Vec<Action>| -> Vec<(u64, Action)> {
        actions.into_iter().map(|a| (ACT, a)).collect()
    };
    let none = run(&s, &[], TICKS);
    let resolve = run(&s, &at(resolve), TICKS);
    let worsen = (!worsen.is_empty()).then(|| run(&s, &at(worsen), TICKS));
    let t = Trio {
        none,
        resolve,
        worsen,
    };
    eprintln!(
        "pain: resolve {:.2} none {:.2} worsen {:?}",
        t.resolve.pain,
        t.none.pain,
        t.worsen.as_ref().map(|w| w.pain)
    );
    assert!(
        t.resolve.pain < t.none.pain,
        "resolve {} !< none {}",
        t.resolve.pain,
        t.none.pain
    );
    if let Some(w) = &t.worsen {
        assert!(
            t.none.pain < w.pain,
            "none {} !< worsen {}",
            t.none.pain,
            w.pain
        );
    }
    let incident = &t.resolve.sim.incidents()[0];
    assert_eq!(incident.resolved_tick, Some(ACT), "{incident:?}");
    if let Some(w) = &t.worsen {
        assert!(
            !w.sim.incidents()[0].worsenings.is_empty(),
            "worsening recorded"
        );
    }
    t
}

fn tight() -> Knobs {
    Knobs {
        web_cap: 100.0,
        api_cap: 100.0,
        ..Knobs::default()
    }
}

#[test]
fn crash() {
    let t = trio(
        &fault("crash", r#"Select(service: "api", pick: Count(3))"#),
        Knobs::default(),
        vec![on(A::RestartService, "api")],
        vec![],
    );
    let fleet = t.none.sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    let down = api
        .instances
        .iter()
        .filter(|i| i.phase == InstancePhase::Down)
        .count();
    assert_eq!(down, 3, "three instances down");
    assert!(
        api.instances
            .iter()
            .filter(|i| i.phase == InstancePhase::Down)
            .all(|i| !i.probe_healthy)
    );
    assert!(metrics(&t.none.sim, "api").healthy_percent < 30.0);
    assert!(metrics(&t.resolve.sim, "api").healthy_percent > 99.0);
}

#[test]
fn bad_deploy() {
    let t = trio(
        &fault("bad_deploy()", r#"Select(service: "api", pick: One)"#),
        Knobs::default(),
        vec![on(A::Rollback, "api")],
        vec![on(A::RestartService, "api")],
    );
    assert!(logged(
        &t.none.sim,
        Some("api"),
        "startup exception in v-bad"
    ));
    let fleet = t.worsen.as_ref().unwrap().sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    assert!(
        api.instances.iter().all(|i| i.version == "v-bad"),
        "restart spread the bad version"
    );
    let fleet = t.resolve.sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    assert!(api.instances.iter().all(|i| i.version == "v5"));
}

#[test]
fn memory_leak() {
    let t = trio(
        &fault("memory_leak(mb_per_min: 500.0)", r#"Service("api")"#),
        Knobs::default(),
        vec![on(A::Rollback, "api")],
        vec![scale(A::ScaleIn, "api", 2)],
    );
    // The distinguishing signal: memory climbs steadily, then OOM.
    let s = scenario(
        &fault("memory_leak(mb_per_min: 500.0)", r#"Service("api")"#),
        Knobs::default(),
    );
    let mut sim = common::world(&s);
    sim.step_until(INJECT + 10);
    let m1 = metrics(&sim, "api").memory_percent;
    sim.step_until(INJECT + 40);
    let m2 = metrics(&sim, "api").memory_percent;
    sim.step_until(INJECT + 70);
    let m3 = metrics(&sim, "api").memory_percent;
    assert!(
        m2 > m1 + 5.0 && m3 > m2 + 5.0,
        "memory slope {m1} {m2} {m3}"
    );
    assert!(logged(&t.none.sim, Some("api"), "OutOfMemoryError"));
    // Above 80 % of memory the instances warn (telemetry visits them only when the service's
    // highest memory says so).
    assert!(logged(&t.none.sim, Some("api"), "GC pause"));
}

#[test]
fn memory_leak_restart_mitigates_and_the_leak_returns() {
    let s = scenario(
        &fault("memory_leak(mb_per_min: 500.0)", r#"Service("api")"#),
        Knobs::default(),
    );
    let before = run(&s, &[], ACT);
    let before_restart = metrics(&before.sim, "api").memory_percent;
    let out = run(&s, &[(ACT, on(A::RestartService, "api"))], ACT + 45);
    let incident = &out.sim.incidents()[0];
    assert!(incident.active && incident.resolved_tick.is_none());
    assert_eq!(incident.mitigations, vec![(ACT, A::RestartService)]);
    let mut sim = out.sim;
    let after_restart = metrics(&sim, "api").memory_percent;
    assert!(
        after_restart < before_restart - 15.0,
        "restart restored memory: {before_restart} -> {after_restart}"
    );
    // Health is back for a while...
    sim.step_until(ACT + 70);
    assert!(metrics(&sim, "api").healthy_percent > 99.0);
    assert!(sim.incidents()[0].healthy);
    // ...and the leak resumes.
    sim.step_until(ACT + 200);
    let later = metrics(&sim, "api").memory_percent;
    assert!(
        later > after_restart + 10.0,
        "the leak resumes: {after_restart} -> {later}"
    );
}

#[test]
fn cpu_saturation() {
    let t = trio(
        &fault("cpu_saturation(cpu_percent: 70.0)", r#"Service("api")"#),
        Knobs::default(),
        vec![on(A::KillJob, "api")],
        vec![],
    );
    let m = metrics(&t.none.sim, "api");
    assert!(m.cpu_percent > 99.0, "cpu pinned: {m:?}");
    assert!(metrics(&t.resolve.sim, "api").cpu_percent < 80.0);
}

#[test]
fn connection_pool_exhausted() {
    let knobs = Knobs {
        db_latency: 40.0,
        ..Knobs::default()
    };
    let t = trio(
        &fault(
            r#"connection_pool_exhausted(dependency: "db", pool_size: 2)"#,
            r#"Service("api")"#,
        ),
        knobs,
        vec![set("api", "db.pool_size", "30")],
        vec![scale(A::ScaleOut, "api", 30)],
    );
    assert!(logged(
        &t.none.sim,
        Some("api"),
        "pool timeout waiting for connection to db"
    ));
    // The database itself is calm: it sees fewer calls than before.
    let db_none = metrics(&t.none.sim, "db");
    let db_ok = metrics(&t.resolve.sim, "db");
    assert!(
        db_none.rps < db_ok.rps * 0.9,
        "db calm: {} vs {}",
        db_none.rps,
        db_ok.rps
    );
    assert!(db_none.error_percent < 0.1);
    let w = &t.worsen.as_ref().unwrap().sim;
    assert!(
        logged(w, Some("api"), "too many clients"),
        "db refuses connections"
    );
}

#[test]
fn dependency_latency() {
    let t = trio(
        &fault("dependency_latency(latency_ms: 800.0)", r#"Service("db")"#),
        Knobs::default(),
        vec![on(A::RestartService, "db")],
        vec![],
    );
    let db = metrics(&t.none.sim, "db");
    let api = metrics(&t.none.sim, "api");
    assert!(db.latency_p50_ms > 700.0, "db slow: {db:?}");
    assert!(
        api.latency_p50_ms > db.latency_p50_ms,
        "callers slower still: {api:?}"
    );
}

#[test]
fn packet_loss() {
    let t = trio(
        &fault("packet_loss(loss_percent: 10.0)", r#"Zone("b")"#),
        Knobs::default(),
        vec![Action::on_zone(A::DrainZone, "b")],
        vec![],
    );
    let web = metrics(&t.none.sim, "web");
    let web_ok = metrics(&t.resolve.sim, "web");
    assert!(
        web.latency_p99_ms > web_ok.latency_p99_ms + 300.0,
        "p99 up: {web:?}"
    );
    assert!(
        web.latency_p50_ms < web_ok.latency_p50_ms * 2.0,
        "p50 fine: {web:?} vs {web_ok:?}"
    );
}

#[test]
fn network_partition() {
    let t = trio(
        &fault("network_partition()", r#"Zone("b")"#),
        Knobs::default(),
        vec![Action::on_zone(A::DrainZone, "b")],
        vec![],
    );
    assert!(logged(&t.none.sim, None, "no route to host"));
    // Replicas diverge: the database has a copy on each side of the cut, replication stalls
    // and the lag grows while nobody acts; draining the cut-off zone lets it catch up.
    assert!(logged(&t.none.sim, Some("db"), "replica lag"));
    let late = TICKS - 60;
    let lag_logged_late = |o: &Outcome| {
        !o.sim
            .logs(Some("db"), Some("replica lag"), late, 1)
            .is_empty()
    };
    assert!(lag_logged_late(&t.none), "still diverging at the end");
    assert!(!lag_logged_late(&t.resolve), "caught up after the drain");
    // Only cross-zone calls fail: the callees themselves answer every call they get.
    let s = scenario(
        &fault("network_partition()", r#"Zone("b")"#),
        Knobs::default(),
    );
    let mut sim = common::world(&s);
    sim.step_until(INJECT + 2);
    assert!(metrics(&sim, "api").error_percent > 20.0);
    // Its instances answer every call that reaches them (the calls lost on the way count
    // against the service, not against the instances).
    let fleet = sim.fleet();
    for callee in ["db", "cache", "payments"] {
        let svc = fleet.services.iter().find(|s| s.name == callee).unwrap();
        for inst in &svc.instances {
            let err = inst.metrics.unwrap().error_percent;
            assert!(err < 0.1, "{callee}[{}] answers: {err}", inst.index);
        }
    }
}

#[test]
fn zone_outage() {
    let t = trio(
        &fault("zone_outage", r#"Zone("b")"#),
        Knobs {
            web_cap: 125.0,
            ..Knobs::default()
        },
        vec![Action::on_zone(A::FailoverZone, "b")],
        vec![on(A::RestartService, "web")],
    );
    let fleet = t.none.sim.fleet();
    assert!(!fleet.zones[1].up);
    assert!(
        fleet
            .services
            .iter()
            .flat_map(|s| &s.instances)
            .filter(|i| i.zone == "b")
            .all(|i| i.phase == InstancePhase::Down)
    );
}

#[test]
fn dns_failure() {
    let t = trio(
        &fault("dns_failure", r#"Service("dns")"#),
        Knobs::default(),
        vec![on(A::FailoverDns, "dns")],
        vec![on(A::RestartService, "api")],
    );
    assert!(logged(
        &t.worsen.as_ref().unwrap().sim,
        Some("api"),
        "no such host"
    ));
    // Pooled connections keep working: shortly after the failure nothing fails yet...
    let s = scenario(&fault("dns_failure", r#"Service("dns")"#), Knobs::default());
    let mut sim = common::world(&s);
    sim.step_until(INJECT + 20);
    assert!(metrics(&sim, "api").error_percent < 0.5);
    // ...while an instance that restarts (new connections) cannot resolve anything.
    sim.submit(Action::on_instance(A::RestartInstance, "api", 0))
        .unwrap();
    sim.step_until(INJECT + 60);
    let fleet = sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    let restarted = api.instances.iter().find(|i| i.index == 0).unwrap();
    let other = api.instances.iter().find(|i| i.index == 1).unwrap();
    let err = |i: &breakathon_sim::InstanceView| i.metrics.unwrap().error_percent;
    assert!(
        err(restarted) > 90.0,
        "restarted instance fails: {}",
        err(restarted)
    );
    assert!(err(other) < 5.0, "pooled instance works: {}", err(other));
}

#[test]
fn disk_full() {
    let t = trio(
        &fault("disk_full(gb_per_min: 30.0)", r#"Service("api")"#),
        Knobs::default(),
        vec![on(A::FreeDisk, "api")],
        vec![],
    );
    let sim = &t.none.sim;
    assert!(metrics(sim, "api").disk_percent > 99.0);
    // Past 80 % the instances warn before the disk fills (telemetry visits them only when
    // the service's highest disk says so).
    assert!(logged(sim, Some("api"), "disk usage"));
    // The team goes partly blind: api writes no more logs.
    let last_api_line = sim
        .logs(Some("api"), None, 0, 1)
        .first()
        .map(|l| l.tick)
        .unwrap_or(0);
    assert!(
        last_api_line < TICKS - 120,
        "api logs stopped at {last_api_line}"
    );
    assert!(logged(sim, Some("web"), "api returned 503"));
}

#[test]
fn certificate_expired() {
    let t = trio(
        &fault("certificate_expired", r#"Service("api")"#),
        Knobs::default(),
        vec![on(A::RenewCertificate, "api")],
        vec![on(A::RestartService, "api")],
    );
    assert!(logged(
        &t.none.sim,
        Some("web"),
        "x509: certificate has expired"
    ));
}

#[test]
fn bad_config() {
    let t = trio(
        &fault(
            r#"bad_config(key: "search_page_size", value: "0", error_percent: 60.0)"#,
            r#"Select(service: "web", pick: One)"#,
        ),
        Knobs::default(),
        vec![on(A::RevertConfig, "web")],
        vec![on(A::RestartService, "web")],
    );
    assert!(logged(
        &t.none.sim,
        Some("web"),
        "config push applied: search_page_size = 0"
    ));
    assert!(logged(
        &t.none.sim,
        Some("web"),
        "invalid config value search_page_size=0"
    ));
}

#[test]
fn bad_feature_flag() {
    let t = trio(
        &fault(
            r#"bad_feature_flag(flag: "new_checkout", error_percent: 20.0)"#,
            r#"Service("web")"#,
        ),
        tight(),
        vec![on(A::ToggleFlag, "web").with(ActionParams {
            flag: Some("new_checkout".into()),
            enabled: Some(false),
            ..ActionParams::default()
        })],
        vec![on(A::Rollback, "web")],
    );
    assert!(metrics(&t.none.sim, "web").error_percent > 10.0);
    let fleet = t.worsen.as_ref().unwrap().sim.fleet();
    let web = fleet.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(
        web.flags.get("new_checkout"),
        Some(&true),
        "the flag persists"
    );
}

#[test]
fn cache_cold() {
    let t = trio(
        &fault("cache_cold(hit_rate_percent: 60.0)", r#"Service("cache")"#),
        Knobs::default(),
        vec![on(A::WarmCache, "cache")],
        vec![on(A::FlushCache, "cache")],
    );
    let _ = t;
    let s = scenario(
        &fault("cache_cold(hit_rate_percent: 60.0)", r#"Service("cache")"#),
        Knobs::default(),
    );
    let mut sim = common::world(&s);
    sim.step_until(INJECT - 1);
    let before = metrics(&sim, "db").rps;
    sim.step_until(INJECT + 3);
    let after = metrics(&sim, "db").rps;
    assert!(after > before * 2.0, "db load x N: {before} -> {after}");
    assert!(logged(&sim, Some("cache"), "FLUSHALL"));
}

#[test]
fn retry_storm() {
    let t = trio(
        &fault(
            r#"retry_storm(factor: 3.0, burst: "60s")"#,
            r#"Service("web")"#,
        ),
        tight(),
        vec![set("web", "retries", "0")],
        vec![on(A::RestartService, "web")],
    );
    // Metastable: long after the burst, load is still far above the baseline of 240 rps.
    let web = metrics(&t.none.sim, "web");
    assert!(
        web.rps > 360.0,
        "load stays high after the trigger: {web:?}"
    );
    assert!(metrics(&t.resolve.sim, "web").rps < 300.0);
}

#[test]
fn traffic_spike() {
    let t = trio(
        &fault(
            r#"traffic_spike(factor: 2.0, ramp: "30s")"#,
            r#"Service("web")"#,
        ),
        Knobs {
            web_cap: 100.0,
            api_cap: 200.0,
            db_cap: 800.0,
            ..Knobs::default()
        },
        vec![scale(A::ScaleOut, "web", 4)],
        vec![on(A::RestartService, "web")],
    );
    let web = metrics(&t.none.sim, "web");
    assert!(web.rps > 450.0, "requests x N: {web:?}");
    assert!(
        web.healthy_percent > 99.0 || web.saturation_percent > 100.0,
        "nothing broken, just saturated"
    );
    // A spike is not stopped by scaling out: the cause stays, the fleet copes.
    assert!(t.resolve.sim.incidents()[0].active);
}

#[test]
fn replica_lag() {
    let t = trio(
        &fault("replica_lag(lag_s_per_min: 120.0)", r#"Service("db")"#),
        Knobs::default(),
        vec![on(A::PromoteReplica, "db")],
        vec![],
    );
    assert!(logged(&t.none.sim, Some("db"), "replica lag"));
    assert!(
        logged(&t.none.sim, Some("api"), "db returned 503")
            || logged(&t.none.sim, Some("db"), "stale read")
    );
}

#[test]
fn clock_skew() {
    let t = trio(
        &fault("clock_skew()", r#"Instance("api", 1)"#),
        Knobs::default(),
        vec![Action::on_instance(A::RestartInstance, "api", 1)],
        vec![],
    );
    let fleet = t.none.sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    for inst in &api.instances {
        let err = inst.metrics.unwrap().error_percent;
        if inst.index == 1 {
            assert!(err > 50.0, "the skewed instance fails: {err}");
        } else {
            assert!(err < 1.0, "the others do not: {err}");
        }
    }
    assert!(logged(
        &t.none.sim,
        Some("api"),
        "clock skew detected: token not yet valid"
    ));
}

#[test]
fn noisy_neighbor() {
    let t = trio(
        &fault("noisy_neighbor(steal_percent: 70.0)", r#"Zone("b")"#),
        Knobs::default(),
        vec![Action::on_zone(A::DrainZone, "b")],
        vec![],
    );
    // Every instance in zone b warns of steal (the zone's effect, not the service's metrics).
    assert!(logged(&t.none.sim, None, "cpu steal time"));
    let s = scenario(
        &fault("noisy_neighbor(steal_percent: 70.0)", r#"Zone("b")"#),
        Knobs::default(),
    );
    let mut sim = common::world(&s);
    sim.step_until(INJECT + 10);
    let fleet = sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    let lat = |zone: &str| {
        api.instances
            .iter()
            .filter(|i| i.zone == zone)
            .map(|i| i.metrics.unwrap().latency_p50_ms)
            .fold(0.0, f64::max)
    };
    assert!(
        lat("b") > lat("a") * 1.5,
        "only zone b is slow: a {} b {}",
        lat("a"),
        lat("b")
    );
}

#[test]
fn quota_exceeded() {
    let t = trio(
        &fault("quota_exceeded(quota_rps: 20.0)", r#"Service("payments")"#),
        Knobs::default(),
        vec![on(A::RaiseQuota, "payments")],
        vec![set("api", "payments.retries", "3")],
    );
    assert!(logged(
        &t.none.sim,
        Some("api"),
        "429 Too Many Requests from payments"
    ));
}

#[test]
fn telemetry_outage_leaves_the_service_fine_but_dark() {
    let s = scenario(
        &fault("telemetry_outage", r#"Service("api")"#),
        Knobs::default(),
    );
    let none = run(&s, &[], 300);
    let fixed = run(&s, &[(ACT, on(A::RestoreTelemetry, "api"))], 300);
    let fleet = none.sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    assert!(api.metrics.is_none(), "no metrics while dark");
    let points = none.sim.metrics("api", INJECT + 5).unwrap();
    assert!(points.is_empty(), "a gap in the history");
    assert!(none.sim.logs(Some("api"), None, INJECT + 5, 10).is_empty());
    assert!(none.pain < 0.1, "customers are fine: {}", none.pain);
    assert!(!none.sim.incidents()[0].healthy);
    assert!(fixed.sim.incidents()[0].healthy);
    assert!(!fixed.sim.metrics("api", 290).unwrap().is_empty());
    // Acting blind: restarting the service nobody can see costs its capacity while it boots,
    // and is recorded as a worsening.
    let blind = run(&s, &[(ACT, on(A::RestartService, "api"))], 300);
    assert!(
        blind.pain > none.pain,
        "blind {} !> none {}",
        blind.pain,
        none.pain
    );
    assert!(
        !blind.sim.incidents()[0].worsenings.is_empty(),
        "worsening recorded"
    );
}
