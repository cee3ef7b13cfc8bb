import Testing
@testable import VesselServer

@Suite struct MetricsRegistryTests {
    /// Label values are escaped as the Prometheus text format requires; plain ones stay as they are.
    @Test func labelValuesAreEscaped() {
        let registry = MetricsRegistry()
        registry.declare("vessel_test_total", kind: "counter", help: "test")
        registry.add("vessel_test_total", [("path", "a\"b\\c\nd")])
        registry.add("vessel_test_total", [("path", "plain")], 2)
        let text = registry.render()
        #expect(text.contains(#"vessel_test_total{path="a\"b\\c\nd"} 1"#), "\(text)")
        #expect(text.contains(#"vessel_test_total{path="plain"} 2"#), "\(text)")
        #expect(registry.value("vessel_test_total", [("path", "a\"b\\c\nd")]) == 1)
    }
}
