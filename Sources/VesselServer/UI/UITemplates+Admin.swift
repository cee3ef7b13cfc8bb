/// The templates of the web UI's webhooks, retention, alias history and the version page's
/// provenance (checks, environment, lineage graph); issue 29, docs/ui.md. Like every template,
/// user text goes only through `{{…}}`, which escapes it; the lineage graph is inline SVG
/// whose labels are Mustache-escaped text (decision 0035).
extension UITemplates {
    static let webhooks = """
    <h1>Webhooks</h1>
    <p class="muted">Subscriptions you may manage (maintainer on their scope, or admin on <code>*</code>), each with its newest delivery attempts.</p>
    {{#has_items}}
    {{#items}}
    <section class="webhook" aria-labelledby="wh-{{id}}">
    <h2 id="wh-{{id}}">{{url}}</h2>
    <dl class="facts">
    <dt>Id</dt><dd><code>{{id}}</code></dd>
    <dt>Scope</dt><dd>{{scope}}</dd>
    <dt>Events</dt><dd>{{#events}}<span class="tag">{{.}}</span>{{/events}}</dd>
    <dt>Format</dt><dd>{{format}}</dd>
    <dt>Created</dt><dd>{{created}} by {{by}}</dd>
    </dl>
    {{#has_attempts}}
    <table aria-labelledby="wh-{{id}}">
    <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Attempt</th><th scope="col">Status</th><th scope="col">Response</th><th scope="col">Latency</th><th scope="col">Error</th></tr></thead>
    <tbody>{{#attempts}}<tr><td>{{at}}</td><td>{{type}} <code>{{event}}</code></td><td>{{attempt}}</td><td class="{{class}}">{{status}}</td><td>{{code}}</td><td>{{latency}}</td><td>{{error}}</td></tr>{{/attempts}}</tbody>
    </table>
    {{/has_attempts}}
    {{^attempts}}<div class="empty"><p>No delivery attempts yet. Send a test event with <code>vessel webhook test {{id}}</code>.</p></div>{{/attempts}}
    </section>
    {{/items}}
    {{/has_items}}
    {{^items}}<div class="empty"><p>No webhooks you manage. A maintainer adds one with <code>vessel webhook add https://example.com/hook --scope OWNER/*</code>.</p></div>{{/items}}
    """

    static let retention = """
    <h1>Retention</h1>
    <p class="muted">The lifecycle job deletes the versions no rule keeps under the most specific scope's policy; without a policy nothing is deleted (docs/retention.md).</p>
    <h2 id="policies">Policies</h2>
    {{#has_policies}}
    <table aria-labelledby="policies">
    <thead><tr><th scope="col">Scope</th><th scope="col">Keep last</th><th scope="col">Keep for</th><th scope="col">Quarantined go after</th><th scope="col">Drafts expire after</th><th scope="col">Updated</th></tr></thead>
    <tbody>{{#policies}}<tr><td>{{scope}}</td><td>{{keepLast}}</td><td>{{keepFor}}</td><td>{{quarantined}}</td><td>{{drafts}}</td><td>{{updated}} by {{by}}</td></tr>{{/policies}}</tbody>
    </table>
    {{/has_policies}}
    {{^policies}}<div class="empty"><p>No retention policy: nothing is deleted. An admin sets one with <code>vessel retention set 'OWNER/*' --keep-last 10 --keep-for 30d</code>.</p></div>{{/policies}}
    <h2 id="holds">Holds</h2>
    {{#has_holds}}
    <table aria-labelledby="holds">
    <thead><tr><th scope="col">Version</th><th scope="col">Reason</th><th scope="col">Held</th></tr></thead>
    <tbody>{{#holds}}<tr><td><a href="{{href}}">{{model}}:{{version}}</a></td><td>{{reason}}</td><td>{{created}} by {{by}}</td></tr>{{/holds}}</tbody>
    </table>
    {{/has_holds}}
    {{^holds}}<div class="empty"><p>No version is held. A maintainer keeps one whatever the policy says with <code>vessel hold OWNER/NAME:VERSION --reason TEXT</code>.</p></div>{{/holds}}
    """

    static let aliasHistory = """
    <p class="muted"><a href="/ui/models">Models</a> / <a href="{{modelHref}}">{{model}}</a></p>
    <h1>Alias history of {{model}}</h1>
    {{> aliasMoves}}
    """

    /// The alias moves table, on the model page (the newest) and on its alias history page.
    static let aliasMoves = """
    {{#has_moves}}
    <table aria-labelledby="alias-history">
    <caption id="alias-history" class="muted">{{movesCaption}}</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Alias</th><th scope="col">Change</th><th scope="col">By</th><th scope="col">Reason</th></tr></thead>
    <tbody>{{#moves}}<tr><td>{{time}}</td><td>{{alias}}</td><td>{{change}}</td><td>{{actor}}</td><td>{{reason}}</td></tr>{{/moves}}</tbody>
    </table>
    {{/has_moves}}
    {{^moves}}<div class="empty"><p>No alias was ever moved. Point one at a version with <code>vessel promote {{model}}:VERSION --to staging</code>.</p></div>{{/moves}}
    """

    /// The model page's alias history and retention sections.
    static let modelAdmin = """
    <h2 id="alias-moves">Alias history</h2>
    {{> aliasMoves}}
    <p><a href="{{historyHref}}">Every alias move of {{model}}</a></p>
    <h2 id="retention">Retention</h2>
    {{#policy}}<p>The policy of <strong>{{scope}}</strong> applies: {{text}}. <span class="muted">Kept whatever it says: aliased, deployed, held and the latest ready version.</span></p>{{/policy}}
    {{^policy}}<div class="empty"><p>No retention policy covers {{model}}: the lifecycle job deletes none of its versions. An admin sets one with <code>vessel retention set {{model}} --keep-last 10</code>.</p></div>{{/policy}}
    {{#has_holds}}
    <table aria-labelledby="retention">
    <thead><tr><th scope="col">Held version</th><th scope="col">Reason</th><th scope="col">Held</th></tr></thead>
    <tbody>{{#holds}}<tr><td><a href="{{href}}">{{version}}</a></td><td>{{reason}}</td><td>{{created}} by {{by}}</td></tr>{{/holds}}</tbody>
    </table>
    {{/has_holds}}
    {{^holds}}<p class="muted">No version of this model is held (<code>vessel hold {{model}}:VERSION --reason TEXT</code>).</p>{{/holds}}
    {{#registryReader}}<p><a href="/ui/retention">Every policy and hold</a></p>{{/registryReader}}
    """

    /// The version page's checks, environment and lineage.
    static let versionProvenance = """
    {{#held}}<p class="notice" role="status">Held: {{reason}} ({{created}} by {{by}}). The lifecycle job keeps it whatever the policy says.</p>{{/held}}
    <h2 id="checks">Checks and metrics</h2>
    {{#has_checks}}
    <table aria-labelledby="checks">
    <thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Metrics</th><th scope="col">Reported</th><th scope="col">Link</th></tr></thead>
    <tbody>{{#checks}}<tr><td>{{name}}</td><td class="{{class}}">{{status}}</td><td>{{#metrics}}<div><code>{{key}}</code> = {{value}}</div>{{/metrics}}</td><td>{{reported}} by {{by}}</td><td>{{#link}}<a href="{{link}}" rel="noreferrer nofollow">report</a>{{/link}}{{^link}}{{url}}{{/link}}</td></tr>{{/checks}}</tbody>
    </table>
    {{/has_checks}}
    {{^checks}}<div class="empty"><p>No check reported for this content. CI reports one with <code>vessel check report {{model}}:{{version}} --name eval --status passed --metric accuracy=0.91</code>.</p></div>{{/checks}}
    <h2 id="environment">Requirements and image</h2>
    <dl class="facts">
    <dt>Run</dt><dd>{{#run}}<code>{{run}}</code>{{/run}}{{^run}}none{{/run}}</dd>
    <dt>Image</dt><dd>{{#image}}<code>{{image}}</code> <span class="muted">({{imageSource}})</span>{{/image}}{{^image}}none{{/image}}</dd>
    <dt>Requirements</dt><dd>{{#requirementsFile}}{{requirementsFile}} <span class="muted">({{requirementsSource}})</span>{{/requirementsFile}}{{^requirementsFile}}none{{/requirementsFile}}</dd>
    </dl>
    {{#has_requirements}}
    <table aria-labelledby="environment">
    <thead><tr><th scope="col">Line</th><th scope="col">Kind</th><th scope="col">Requirement</th></tr></thead>
    <tbody>{{#requirements}}<tr><td>{{line}}</td><td>{{kind}}</td><td><code>{{text}}</code></td></tr>{{/requirements}}</tbody>
    </table>
    {{/has_requirements}}
    {{^requirements}}<div class="empty"><p>No requirements or image recorded. Push with <code>vessel push {{model}} ./folder --requirements requirements.txt --image REF@sha256:…</code>, or link a run that has them.</p></div>{{/requirements}}
    <h2 id="lineage">Lineage</h2>
    {{#lineage}}
    <figure class="lineage">
    <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="lineage-title lineage-desc" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}">
    <title id="lineage-title">Lineage of {{model}}:{{version}}</title>
    <desc id="lineage-desc">{{description}}</desc>
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#4d5661"/></marker></defs>
    {{#edges}}<line x1="{{x1}}" y1="{{y1}}" x2="{{x2}}" y2="{{y2}}" stroke="#4d5661" stroke-width="1.5" marker-end="url(#arrow)"><title>{{kind}}</title></line>
    {{/edges}}
    {{#nodes}}<g><title>{{kind}} {{full}}</title><rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" rx="5" fill="{{fill}}" stroke="{{stroke}}" stroke-width="{{strokeWidth}}"/>
    <text x="{{tx}}" y="{{ky}}" font-size="11" fill="#4d5661" font-family="system-ui, sans-serif">{{kind}}</text>
    <text x="{{tx}}" y="{{ly}}" font-size="13" fill="#1b1f24" font-family="system-ui, sans-serif">{{label}}</text></g>
    {{/nodes}}
    </svg>
    <figcaption class="muted">Data flows left to right: source datasets, the datasets derived from them, the training run, this version.{{#hidden}} {{hidden}} node(s) you may not read are left out.{{/hidden}}{{#truncated}} The walk stopped at its depth limit.{{/truncated}}</figcaption>
    </figure>
    <table aria-labelledby="lineage">
    <thead><tr><th scope="col">Kind</th><th scope="col">Node</th><th scope="col">Details</th></tr></thead>
    <tbody>{{#nodes}}<tr><td>{{kind}}</td><td>{{full}}</td><td>{{#details}}<div>{{.}}</div>{{/details}}</td></tr>{{/nodes}}</tbody>
    </table>
    {{/lineage}}
    {{^lineage}}<div class="empty"><p>No lineage recorded. Record the data with <code>vessel dataset add OWNER/NAME --uri URI</code>, the run with <code>vessel run add OWNER --dataset OWNER/NAME:1</code>, then push with <code>vessel push {{model}} ./folder --run RUN_ID</code>.</p></div>{{/lineage}}
    """

    /// Registered with the others in `UITemplates.all`.
    static let admin: [String: String] = [
        "webhooks": webhooks, "retention": retention, "aliasHistory": aliasHistory, "aliasMoves": aliasMoves,
        "modelAdmin": modelAdmin, "versionProvenance": versionProvenance,
    ]
}
