/// The web UI's one stylesheet, hand-written (no build step). Colours keep a contrast ratio of
/// at least 4.5:1 against their background (WCAG AA), and focus is always visible.
enum UIStylesheet {
    static let css = """
    :root { --fg: #1b1f24; --muted: #4d5661; --bg: #ffffff; --panel: #f4f6f8; --line: #d0d7de;
      --accent: #0b5cad; --ok: #14632f; --warn: #8a4b00; --bad: #a40e26; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
    a { color: var(--accent); }
    a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f0b400; outline-offset: 2px; }
    .skip { position: absolute; left: -1000px; }
    .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; }
    header.top { display: flex; gap: 24px; align-items: center; padding: 10px 24px; background: #0d2538; color: #ffffff; }
    header.top a { color: #ffffff; text-decoration: none; }
    header.top a:hover { text-decoration: underline; }
    header.top .brand { font-weight: 700; font-size: 18px; }
    header.top nav ul { display: flex; gap: 18px; list-style: none; margin: 0; padding: 0; }
    header.top .who { margin-left: auto; display: flex; gap: 12px; align-items: center; }
    header.top .who button { background: transparent; color: #ffffff; border: 1px solid #ffffff; }
    main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
    h1 { font-size: 24px; margin: 8px 0 12px; }
    h2 { font-size: 18px; margin: 28px 0 8px; }
    table { border-collapse: collapse; width: 100%; margin: 8px 0; }
    th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { background: var(--panel); font-weight: 600; }
    code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
    pre { background: var(--panel); padding: 8px 12px; overflow-x: auto; border: 1px solid var(--line); }
    .muted { color: var(--muted); }
    .tag { display: inline-block; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 0 8px; margin-right: 4px; font-size: 13px; }
    .state { font-weight: 600; }
    .state-ready, .verdict-safe, .ok { color: var(--ok); }
    .state-quarantined, .verdict-unsafe, .bad { color: var(--bad); }
    .state-archived, .state-pending, .warn { color: var(--warn); }
    .empty { background: var(--panel); border: 1px dashed var(--line); padding: 12px 16px; }
    .notice { border-left: 4px solid var(--accent); background: var(--panel); padding: 8px 12px; margin: 12px 0; }
    .error { border-left-color: var(--bad); }
    form.inline { display: inline; }
    form.filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-end; margin: 8px 0 12px; }
    form.filters label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
    input[type=text], input[type=password], input[type=search] { font: inherit; padding: 5px 8px; border: 1px solid #6e7781; border-radius: 4px; min-width: 200px; }
    button { font: inherit; padding: 5px 12px; border-radius: 4px; border: 1px solid #6e7781; background: var(--panel); color: var(--fg); cursor: pointer; }
    button.primary { background: var(--accent); color: #ffffff; border-color: var(--accent); }
    button.danger { background: var(--bad); color: #ffffff; border-color: var(--bad); }
    .login { max-width: 420px; margin: 60px auto; }
    .login label { display: block; margin: 12px 0 4px; font-weight: 600; }
    .login input { width: 100%; }
    .pager { display: flex; gap: 16px; margin-top: 12px; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
    dl.facts dt { color: var(--muted); }
    dl.facts dd { margin: 0; }
    .bar { background: var(--line); height: 10px; width: 160px; display: inline-block; vertical-align: middle; }
    .bar span { display: block; height: 10px; background: var(--accent); }
    tr.drifted td { background: #fff1f0; }
    meter { width: 160px; vertical-align: middle; }
    """
}
