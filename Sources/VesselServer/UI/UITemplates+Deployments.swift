/// The deployment page's templates (issue 29): the page, and `deploymentLive`, the part its
/// long-poll (`…/deployments/:env/watch`) renders again on every change. `deploymentLive` is a
/// partial of the page, so the page without JavaScript and the page kept current by
/// `rollout.js` show the same HTML.
extension UITemplates {
    static let deployment = """
    <p class="muted"><a href="/ui/models">Models</a> / <a href="{{modelHref}}">{{model}}</a> / <a href="/ui/deployments">Deployments</a></p>
    <h1>{{model}} in {{env}}</h1>
    {{#result}}<p class="notice {{#failed}}error{{/failed}}" role="status">{{result}}</p>{{/result}}
    <p id="live-status" class="muted" role="status">This page shows revision {{revision}}; reload it to see later changes.</p>
    {{> deploymentLive}}
    <script src="{{script}}" defer></script>
    """

    static let deploymentLive = """
    <div id="live" data-watch="{{watch}}" data-revision="{{revision}}">
    <dl class="facts">
    <dt>Status</dt><dd class="state">{{status}}</dd>
    <dt>Revision</dt><dd>{{revision}}</dd>
    <dt>Live pool</dt><dd>{{live}}</dd>
    <dt>Changed</dt><dd>{{updated}} by {{updatedBy}}</dd>
    </dl>
    <h2 id="traffic">Traffic</h2>
    <table aria-labelledby="traffic">
    <thead><tr><th scope="col">Pool</th><th scope="col">Version</th><th scope="col">Role</th><th scope="col">Weight</th></tr></thead>
    <tbody>{{#pools}}<tr><td>{{slot}}</td><td>{{version}}</td><td>{{role}}</td><td><meter min="0" max="100" value="{{weight}}" aria-label="traffic to {{slot}}">{{weight}}%</meter> {{weight}}%</td></tr>{{/pools}}</tbody>
    </table>
    <h2 id="steps">Canary steps</h2>
    <p>{{stepText}}</p>
    <ol aria-labelledby="steps">{{#steps}}<li class="{{#current}}ok{{/current}}{{^reached}} muted{{/reached}}">{{weight}}% {{#current}}<strong>(current: {{pause}})</strong>{{/current}}{{#done}}(done){{/done}}</li>{{/steps}}</ol>
    {{#has_smoke}}<p>Smoke checks before the first step: {{#smoke}}<span class="tag">{{.}}</span>{{/smoke}}</p>{{/has_smoke}}
    {{#thresholds}}<p class="muted">{{thresholds}}</p>{{/thresholds}}
    <h2 id="nodes">Nodes</h2>
    {{#has_nodes}}
    <p>{{driftText}}</p>
    <table aria-labelledby="nodes">
    <thead><tr><th scope="col">Node</th><th scope="col">Kind</th><th scope="col">Pool</th><th scope="col">Desired</th><th scope="col">Actual</th><th scope="col">Node state</th><th scope="col">Drift</th><th scope="col">Last seen</th></tr></thead>
    <tbody>{{#nodes}}<tr class="{{#drifted}}drifted{{/drifted}}"><td>{{node}}</td><td>{{kind}}</td><td>{{slot}}</td><td>{{desired}}</td><td>{{actual}}</td><td>{{state}}</td><td class="{{#drifted}}bad{{/drifted}}{{^drifted}}ok{{/drifted}}">{{#drifted}}<strong>{{drift}}</strong>{{/drifted}}{{^drifted}}{{drift}}{{/drifted}}{{#since}} since {{since}}{{/since}}</td><td>{{lastSeen}}{{#message}}<div class="muted">{{message}}</div>{{/message}}</td></tr>{{/nodes}}</tbody>
    </table>
    {{/has_nodes}}
    {{^nodes}}<div class="empty"><p>No node has reported yet. Run <code>vessel agent {{model}} --env {{env}} --node NAME</code> on each server, or add an endpoint the registry polls: <code>vessel deploy endpoint add {{model}} --env {{env}} URL</code>.</p></div>{{/nodes}}
    <h2 id="rollback">Roll back</h2>
    {{#canRollback}}
    <form method="post" action="/ui/models/{{model}}/deployments/{{env}}/rollback">
    <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="revision" value="{{revision}}"><input type="hidden" name="page" value="deployment">
    <label for="reason">Reason (kept in the audit log)</label> <input id="reason" name="reason" type="text">
    <button class="danger" type="submit">Roll back</button>
    </form>
    {{/canRollback}}
    {{^canRollback}}<p class="muted">{{rollbackText}}</p>{{/canRollback}}
    </div>
    """

    static let deploymentTemplates: [String: String] = ["deployment": deployment, "deploymentLive": deploymentLive]
}
