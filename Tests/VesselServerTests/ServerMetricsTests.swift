import Foundation
import Prometheus
import Testing
@testable import VesselServer

extension PrometheusCollectorRegistry {
    /// A series' value as a scrape reads it from the text exposition (0 when it has none).
    /// `labels` in the order the server passes them.
    func value(_ name: String, _ labels: [(String, String)] = []) -> Double {
        let escaped = labels.map { key, value in
            let value = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(key)=\"\(value)\""
        }
        let prefix = labels.isEmpty ? "\(name) " : "\(name){\(escaped.joined(separator: ","))} "
        for line in render().split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count)) ?? .nan
        }
        return 0
    }
}

@Suite struct ServerMetricsTests {
    /// Names, labels, types and histogram buckets as the README and dashboards know them.
    @Test func requestsRenderUnderTheirDocumentedNames() {
        let metrics = ServerMetrics()
        metrics.request(method: "GET", status: 200, seconds: 0.00390625, bytesIn: 10, bytesOut: 20)
        metrics.request(method: "GET", status: 200, seconds: 0.25, bytesIn: 0, bytesOut: 5)
        let text = metrics.registry.render()
        for line in [
            "# TYPE vessel_http_requests_total counter",
            #"vessel_http_requests_total{method="GET",status="200"} 2"#,
            "# TYPE vessel_http_request_duration_seconds histogram",
            #"vessel_http_request_duration_seconds_bucket{method="GET",le="0.001"} 0"#,
            #"vessel_http_request_duration_seconds_bucket{method="GET",le="0.005"} 1"#,
            #"vessel_http_request_duration_seconds_bucket{method="GET",le="0.25"} 2"#,
            #"vessel_http_request_duration_seconds_bucket{method="GET",le="60.0"} 2"#,
            #"vessel_http_request_duration_seconds_bucket{method="GET",le="+Inf"} 2"#,
            #"vessel_http_request_duration_seconds_count{method="GET"} 2"#,
            "# TYPE vessel_http_request_bytes_total counter",
            "vessel_http_request_bytes_total 10",
            "vessel_http_response_bytes_total 25",
            "# TYPE vessel_uploads_in_flight gauge",
            "vessel_uploads_in_flight 0.0",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(line) in\n\(text)")
        }
        #expect(metrics.registry.value(ServerMetrics.duration + "_sum", [("method", "GET")]) == 0.25390625)
    }

    /// A fresh server's scrape names every family, and a family's HELP and TYPE come once.
    @Test func everyFamilyRendersOnceBeforeAndAfterItsFirstSample() {
        let metrics = ServerMetrics()
        func typeLines(_ text: String) -> [String: Int] {
            var count: [String: Int] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") { count[String(line.split(separator: " ")[2]), default: 0] += 1 }
            return count
        }
        let names = Set(ServerMetrics.families.map(\.name))
        #expect(typeLines(metrics.registry.render()) == Dictionary(uniqueKeysWithValues: names.map { ($0, 1) }))
        metrics.jobRun("upload-expiry", outcome: "ran")
        metrics.request(method: "PUT", status: 201, seconds: 0.01, bytesIn: 1, bytesOut: 1)
        metrics.sessionCompleted()
        let text = metrics.registry.render()
        #expect(typeLines(text) == Dictionary(uniqueKeysWithValues: names.map { ($0, 1) }), "\(text)")
        #expect(text.contains("# HELP vessel_job_runs_total Background job runs, by job and outcome"))
        #expect(metrics.registry.value(ServerMetrics.uploadsCompleted) == 1)
    }

    /// Label values are escaped as the Prometheus text format requires; plain ones stay as they are.
    @Test func labelValuesAreEscaped() {
        let metrics = ServerMetrics()
        metrics.jobRun("a\"b\\c\nd", outcome: "ran")
        metrics.jobRun("plain", outcome: "ran")
        metrics.jobRun("plain", outcome: "ran")
        let text = metrics.registry.render()
        #expect(text.contains(#"vessel_job_runs_total{job="a\"b\\c\nd",outcome="ran"} 1"#), "\(text)")
        #expect(text.contains(#"vessel_job_runs_total{job="plain",outcome="ran"} 2"#), "\(text)")
        #expect(metrics.registry.value(ServerMetrics.jobRuns, [("job", "a\"b\\c\nd"), ("outcome", "ran")]) == 1)
    }

    /// Each server counts on its own registry: nothing goes through a process-wide system.
    @Test func serversInOneProcessCountApart() async {
        let a = ServerMetrics(), b = ServerMetrics()
        a.request(method: "GET", status: 200, seconds: 0, bytesIn: 0, bytesOut: 0)
        await a.upload {
            #expect(a.registry.value(ServerMetrics.uploadsInFlight) == 1)
            #expect(b.registry.value(ServerMetrics.uploadsInFlight) == 0)
        }
        #expect(a.registry.value(ServerMetrics.uploadsInFlight) == 0)
        #expect(a.registry.value(ServerMetrics.requests, [("method", "GET"), ("status", "200")]) == 1)
        #expect(b.registry.value(ServerMetrics.requests, [("method", "GET"), ("status", "200")]) == 0)
    }
}
