import Mustache

/// The web UI's Mustache templates, compiled into the binary (docs/decisions: web UI). `{{x}}`
/// HTML-escapes (`<`, `>`, `&`, `"`, `'`), so user text is always written as text; `{{{x}}}`
/// is used only for `body`, HTML that a page template rendered itself.
enum UITemplates {
    static let layout = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="same-origin">
    <title>{{title}} · Vessel</title>
    <link rel="stylesheet" href="{{css}}">
    </head>
    <body>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
    <a class="brand" href="/ui/models">Vessel</a>
    {{#user}}
    <nav aria-label="Main"><ul>
    <li><a href="/ui/models">Models</a></li>
    <li><a href="/ui/requests">Requests</a></li>
    <li><a href="/ui/deployments">Deployments</a></li>
    <li><a href="/ui/audit">Audit</a></li>
    <li><a href="/ui/webhooks">Webhooks</a></li>
    </ul></nav>
    <div class="who"><span>Signed in as <strong>{{user}}</strong></span>
    <form class="inline" method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>
    </div>
    {{/user}}
    </header>
    <main id="main">
    {{{body}}}
    </main>
    </body>
    </html>
    """

    static let login = """
    <div class="login">
    <h1>Sign in to Vessel</h1>
    {{#error}}<p class="notice error" role="alert">{{error}}</p>{{/error}}
    <form method="post" action="/ui/login">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="next" value="{{next}}">
    <label for="token">Token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required>
    <p class="muted">Paste a token from <code>vessel token create</code> (an admin's first token is in the data directory's <code>admin-token</code>).</p>
    <button class="primary" type="submit">Sign in</button>
    </form>
    </div>
    """

    static let error = """
    <h1>{{heading}}</h1>
    <p class="notice error" role="alert">{{message}}</p>
    <p><a href="/ui/models">Back to the models</a></p>
    """

    static let models = """
    <h1>Models</h1>
    <form class="filters" method="get" action="/ui/models" role="search">
    <label for="q">Name or description contains<input id="q" name="q" type="search" value="{{q}}"></label>
    <label for="tag">Tag<input id="tag" name="tag" type="text" value="{{tag}}"></label>
    <button type="submit">Search</button>
    </form>
    {{#has_items}}
    <table>
    <caption class="muted">{{caption}}</caption>
    <thead><tr><th scope="col">Model</th><th scope="col">Description</th><th scope="col">Tags</th><th scope="col">Versions</th><th scope="col">Latest</th></tr></thead>
    <tbody>
    {{#items}}
    <tr><td><a href="{{href}}">{{model}}</a></td><td>{{description}}</td><td>{{#tags}}<span class="tag">{{.}}</span>{{/tags}}</td><td>{{versions}}</td><td>{{latest}}</td></tr>
    {{/items}}
    </tbody>
    </table>
    {{/has_items}}
    {{^items}}
    <div class="empty">{{#filtered}}<p>No model matches this search.</p>{{/filtered}}{{^filtered}}<p>No models yet. Push one with <code>vessel push OWNER/NAME ./folder</code>.</p>{{/filtered}}</div>
    {{/items}}
    <div class="pager">{{#next}}<a href="{{next}}" rel="next">Next page</a>{{/next}}</div>
    """

    static let model = """
    <p class="muted"><a href="/ui/models">Models</a> / {{owner}}</p>
    <h1>{{model}}</h1>
    <p>{{description}}</p>
    <p>{{#tags}}<span class="tag">{{.}}</span>{{/tags}}</p>
    <h2 id="versions">Versions</h2>
    {{#has_versions}}
    <table aria-labelledby="versions">
    <thead><tr><th scope="col">Version</th><th scope="col">State</th><th scope="col">Size</th><th scope="col">Files</th><th scope="col">Parameters</th><th scope="col">Dtypes</th><th scope="col">Aliases</th><th scope="col">Created</th></tr></thead>
    <tbody>
    {{#versions}}
    <tr><td><a href="{{href}}">{{version}}</a></td><td class="state state-{{state}}">{{state}}</td><td>{{size}}</td><td>{{files}}</td><td>{{parameters}}</td><td>{{dtypes}}</td><td>{{#aliases}}<span class="tag">{{.}}</span>{{/aliases}}</td><td>{{created}} by {{by}}</td></tr>
    {{/versions}}
    </tbody>
    </table>
    {{/has_versions}}
    {{^versions}}<div class="empty"><p>No versions yet. Push one with <code>vessel push {{model}} ./folder</code>.</p></div>{{/versions}}
    <div class="pager">{{#next}}<a href="{{next}}" rel="next">Older versions</a>{{/next}}</div>
    <h2 id="aliases">Aliases</h2>
    {{#has_aliases}}
    <table aria-labelledby="aliases">
    <thead><tr><th scope="col">Alias</th><th scope="col">Version</th><th scope="col">Moved</th></tr></thead>
    <tbody>{{#aliases}}<tr><td>{{alias}}</td><td><a href="{{href}}">{{version}}</a></td><td>{{updated}} by {{by}}</td></tr>{{/aliases}}</tbody>
    </table>
    {{/has_aliases}}
    {{^aliases}}<div class="empty"><p>No aliases. Point one at a version with <code>vessel promote {{model}}:VERSION --to staging</code>.</p></div>{{/aliases}}
    <h2 id="deployments">Deployments</h2>
    {{#has_deployments}}
    <table aria-labelledby="deployments">
    <thead><tr><th scope="col">Environment</th><th scope="col">Status</th><th scope="col">Live</th><th scope="col">Candidate</th><th scope="col">Traffic to candidate</th></tr></thead>
    <tbody>{{#deployments}}<tr><td><a href="/ui/models/{{model}}/deployments/{{env}}">{{env}}</a></td><td>{{status}}</td><td>{{live}}</td><td>{{candidate}}</td><td><progress max="100" value="{{weight}}" aria-label="candidate traffic in {{env}}">{{weight}}%</progress> {{weight}}%</td></tr>{{/deployments}}</tbody>
    </table>
    {{/has_deployments}}
    {{^deployments}}<div class="empty"><p>Not deployed anywhere. Start with <code>vessel deploy {{model}}:VERSION --env ENV</code>.</p></div>{{/deployments}}
    {{> modelAdmin}}
    {{#maintainer}}<p><a href="{{audit}}">Audit of this model</a></p>{{/maintainer}}
    """

    static let version = """
    <p class="muted"><a href="/ui/models">Models</a> / <a href="{{modelHref}}">{{model}}</a></p>
    <h1>{{model}} version {{version}}</h1>
    <dl class="facts">
    <dt>State</dt><dd class="state state-{{state}}">{{state}}</dd>
    <dt>Digest</dt><dd><code>{{digest}}</code></dd>
    <dt>Size</dt><dd>{{size}} in {{files}} files</dd>
    <dt>Created</dt><dd>{{created}} by {{by}}</dd>
    <dt>Aliases</dt><dd>{{#aliases}}<span class="tag">{{.}}</span>{{/aliases}}{{^aliases}}none{{/aliases}}</dd>
    <dt>Description</dt><dd>{{description}}</dd>
    </dl>
    <h2 id="pull">Pull it</h2>
    <pre aria-labelledby="pull"><code>{{pull}}</code></pre>
    {{#has_findings}}<h2>Findings</h2><ul>{{#findings}}<li class="bad">{{.}}</li>{{/findings}}</ul>{{/has_findings}}
    <h2 id="files">Files</h2>
    <table aria-labelledby="files">
    <thead><tr><th scope="col">Path</th><th scope="col">Size</th><th scope="col">SHA-256</th></tr></thead>
    <tbody>{{#manifest}}<tr><td>{{path}}</td><td>{{size}}</td><td><code>{{digest}}</code></td></tr>{{/manifest}}</tbody>
    </table>
    <h2 id="summary">Safetensors summary</h2>
    {{#summary}}
    <p>{{parameters}} parameters in {{tensors}} tensors over {{shards}} shard(s), {{bytes}} of tensor data.</p>
    <table aria-labelledby="summary"><thead><tr><th scope="col">Dtype</th><th scope="col">Parameters</th><th scope="col">Bytes</th></tr></thead>
    <tbody>{{#dtypes}}<tr><td>{{dtype}}</td><td>{{parameters}}</td><td>{{bytes}}</td></tr>{{/dtypes}}</tbody></table>
    {{/summary}}
    {{^summary}}<div class="empty"><p>No safetensors files in this version.</p></div>{{/summary}}
    <h2 id="scan">Scan report</h2>
    {{#has_scan}}
    <table aria-labelledby="scan"><thead><tr><th scope="col">File</th><th scope="col">Format</th><th scope="col">Verdict</th><th scope="col">Findings</th></tr></thead>
    <tbody>{{#scan}}<tr><td>{{path}}</td><td>{{format}}</td><td class="verdict-{{verdict}}">{{verdict}}</td><td>{{#findings}}<div>{{severity}} {{kind}}: {{detail}}</div>{{/findings}}</td></tr>{{/scan}}</tbody></table>
    {{/has_scan}}
    {{^scan}}<div class="empty"><p>No file needed scanning.</p></div>{{/scan}}
    <h2 id="signatures">Signatures</h2>
    {{#has_signatures}}
    <table aria-labelledby="signatures"><thead><tr><th scope="col">Id</th><th scope="col">Key</th><th scope="col">Trusted key</th><th scope="col">Added</th></tr></thead>
    <tbody>{{#signatures}}<tr><td>{{id}}</td><td><code>{{key}}</code></td><td>{{trusted}}</td><td>{{added}}</td></tr>{{/signatures}}</tbody></table>
    {{/has_signatures}}
    {{^signatures}}<div class="empty"><p>Unsigned. Sign it with <code>vessel sign {{model}}:{{version}} --key key.pem</code>.</p></div>{{/signatures}}
    {{> versionProvenance}}
    """

    static let audit = """
    <h1>Audit{{#scope}} of {{scope}}{{/scope}}</h1>
    <form class="filters" method="get" action="{{action}}">
    {{^fixedModel}}<label for="model">Model<input id="model" name="model" type="text" value="{{model}}"></label>{{/fixedModel}}
    <label for="actor">Actor<input id="actor" name="actor" type="text" value="{{actor}}"></label>
    <label for="act">Action<input id="act" name="action" type="text" value="{{filterAction}}"></label>
    <button type="submit">Filter</button>
    </form>
    {{#admin}}
    <form method="post" action="/ui/audit/verify"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit">Verify the chain</button> <span class="muted">Verifying reads every entry.</span></form>
    {{/admin}}
    {{#verification}}<p class="notice {{^ok}}error{{/ok}}" role="status">{{text}}</p>{{/verification}}
    {{#has_entries}}
    <table>
    <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Change</th><th scope="col">Reason</th></tr></thead>
    <tbody>{{#entries}}<tr><td>{{seq}}</td><td>{{time}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{target}}</td><td>{{before}} → {{after}}</td><td>{{reason}}</td></tr>{{/entries}}</tbody>
    </table>
    {{/has_entries}}
    {{^entries}}<div class="empty"><p>No audit entry matches these filters.</p></div>{{/entries}}
    <div class="pager">{{#next}}<a href="{{next}}" rel="next">Older entries</a>{{/next}}</div>
    """

    static let requests = """
    <h1>Promotion requests</h1>
    {{#result}}<p class="notice {{#failed}}error{{/failed}}" role="status">{{result}}</p>{{/result}}
    {{#has_items}}
    <table>
    <thead><tr><th scope="col">Request</th><th scope="col">Model</th><th scope="col">Change</th><th scope="col">Status</th><th scope="col">Requested</th><th scope="col">Reason</th><th scope="col">Decision</th></tr></thead>
    <tbody>
    {{#items}}
    <tr><td><code>{{id}}</code></td><td><a href="{{modelHref}}">{{model}}</a></td><td>{{kind}} {{alias}} → {{version}}</td><td>{{status}}</td><td>{{created}} by {{by}}</td><td>{{reason}}</td>
    <td>{{#decided}}{{decided}}{{/decided}}
    {{#canDecide}}
    <form class="inline" method="post" action="/ui/requests/{{id}}/approve"><input type="hidden" name="csrf" value="{{csrf}}"><button class="primary" type="submit" aria-label="Approve {{id}}">Approve</button></form>
    <form class="inline" method="post" action="/ui/requests/{{id}}/reject"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger" type="submit" aria-label="Reject {{id}}">Reject</button></form>
    {{/canDecide}}</td></tr>
    {{/items}}
    </tbody>
    </table>
    {{/has_items}}
    {{^items}}<div class="empty"><p>No promotion requests. A promotion to an alias protected with approvals opens one: <code>vessel promote OWNER/NAME:VERSION --to production</code>.</p></div>{{/items}}
    """

    static let deployments = """
    <h1>Deployments</h1>
    {{#result}}<p class="notice {{#failed}}error{{/failed}}" role="status">{{result}}</p>{{/result}}
    {{#has_items}}
    <table>
    <thead><tr><th scope="col">Model</th><th scope="col">Environment</th><th scope="col">Status</th><th scope="col">Live</th><th scope="col">Candidate</th><th scope="col">Traffic to candidate</th><th scope="col">Revision</th><th scope="col">Action</th></tr></thead>
    <tbody>
    {{#items}}
    <tr><td><a href="{{modelHref}}">{{model}}</a></td><td><a href="/ui/models/{{model}}/deployments/{{env}}">{{env}}</a></td><td>{{status}}</td><td>{{live}}</td><td>{{candidate}}</td>
    <td><progress max="100" value="{{weight}}" aria-label="candidate traffic of {{model}} in {{env}}">{{weight}}%</progress> {{weight}}%</td><td>{{revision}}</td>
    <td>{{#canRollback}}<form class="inline" method="post" action="/ui/models/{{model}}/deployments/{{env}}/rollback"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="revision" value="{{revision}}"><button class="danger" type="submit" aria-label="Roll back {{model}} in {{env}}">Roll back</button></form>{{/canRollback}}</td></tr>
    {{/items}}
    </tbody>
    </table>
    {{/has_items}}
    {{^items}}<div class="empty"><p>Nothing deployed. Start with <code>vessel deploy OWNER/NAME:VERSION --env ENV</code>.</p></div>{{/items}}
    <div class="pager">{{#next}}<a href="{{next}}" rel="next">Next page</a>{{/next}}</div>
    """

    /// Every template by name; a template that does not parse fails the server's start in tests
    /// (`UIRenderer.init` is exercised by every UI test).
    static let all: [String: String] = [
        "layout": layout, "login": login, "error": error, "models": models, "model": model, "version": version,
        "audit": audit, "requests": requests, "deployments": deployments,
    ].merging(deploymentTemplates) { first, _ in first }.merging(admin) { first, _ in first }
}

/// Renders a page: its template, then the layout around it.
struct UIRenderer: Sendable {
    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in UITemplates.all {
            // The templates are constants of this binary; UITemplateTests parses each one.
            if let template = try? MustacheTemplate(string: text) { library.register(template, named: name) }
        }
        self.library = library
    }

    /// `has_KEY` is set for every list, so a template can wrap a table around a list that is not
    /// empty (`{{#has_items}}<table>…{{/has_items}}`) and say what to run next when it is.
    func render(_ name: String, _ values: [String: Any]) -> String {
        var values = values
        for (key, value) in values {
            if let list = value as? [Any] { values["has_\(key)"] = !list.isEmpty }
        }
        return library.render(values, withTemplate: name) ?? ""
    }
}
