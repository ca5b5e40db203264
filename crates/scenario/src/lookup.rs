//! Lookups over a scenario that the validator, the engine and the game all need.

use crate::{Fault, Scenario, Service, SimDuration};

impl Scenario {
    /// The service named `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The fault named `name`.
    pub fn fault(&self, name: &str) -> Option<&Fault> {
        self.faults.iter().find(|f| f.name == name)
    }

    /// Names of every zone, in scenario order.
    pub fn zone_names(&self) -> Vec<&str> {
        self.zones.iter().map(|z| z.name.as_str()).collect()
    }

    /// Names of every service, in scenario order.
    pub fn service_names(&self) -> Vec<&str> {
        self.services.iter().map(|s| s.name.as_str()).collect()
    }

    /// Names of every fault, in scenario order.
    pub fn fault_names(&self) -> Vec<&str> {
        self.faults.iter().map(|f| f.name.as_str()).collect()
    }

    /// Names of the services that receive traffic directly.
    pub fn entry_point_names(&self) -> Vec<&str> {
        self.traffic
            .entry_points
            .iter()
            .map(|e| e.service.as_str())
            .collect()
    }

    /// The zones `service` runs in: its own `zones` list, or every zone when it is empty.
    pub fn service_zones<'a>(&'a self, service: &'a Service) -> Vec<&'a str> {
        if service.zones.is_empty() {
            self.zone_names()
        } else {
            service.zones.iter().map(String::as_str).collect()
        }
    }

    /// How many instances `service` starts with, over all its zones.
    pub fn instance_count(&self, service: &Service) -> u64 {
        u64::from(service.instances_per_zone) * self.service_zones(service).len() as u64
    }

    /// Number of ticks in the game (the duration divided by the tick, rounded up).
    pub fn duration_ticks(&self) -> u64 {
        self.duration.to_ticks(self.tick)
    }

    /// `time` from the start as a tick number (rounded up).
    pub fn ticks(&self, time: SimDuration) -> u64 {
        time.to_ticks(self.tick)
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_unchecked;

    #[test]
    fn zones_default_to_all_and_instances_multiply() {
        let scenario = parse_unchecked(
            r#"(title: "t", duration: "1h", tick: "500ms",
                zones: [(name: "a"), (name: "b")],
                services: [(name: "web", kind: api, instances_per_zone: 3),
                           (name: "db", kind: database, zones: ["b"])],
                faults: [(name: "x", kind: crash, target: Service("db"), trigger: At("1m"))])"#,
        )
        .unwrap();
        let web = scenario.service("web").unwrap();
        let db = scenario.service("db").unwrap();
        assert_eq!(scenario.service_zones(web), ["a", "b"]);
        assert_eq!(scenario.service_zones(db), ["b"]);
        assert_eq!(scenario.instance_count(web), 6);
        assert_eq!(scenario.instance_count(db), 2);
        assert_eq!(scenario.duration_ticks(), 7_200);
        assert!(scenario.fault("x").is_some());
        assert!(scenario.service("nope").is_none());
    }
}
