/// The Python 2 → 3 renames CPython applies in `find_class` for protocols 0–2
/// (`Lib/_compat_pickle.py`), limited to the names that matter for judging imports: every
/// module that maps onto an allowlisted or dangerous Python 3 name.
enum PickleCompatNames {
    private static let modules: [String: String] = [
        "__builtin__": "builtins",
        "copy_reg": "copyreg",
        "cPickle": "pickle",
        "commands": "subprocess",
        "thread": "_thread",
        "dummy_thread": "_dummy_thread",
        "exceptions": "builtins",
        "UserDict": "collections",
        "UserList": "collections",
        "UserString": "collections",
        "StringIO": "io",
        "cStringIO": "io",
        "urllib2": "urllib.request",
        "httplib": "http.client",
        "SocketServer": "socketserver",
        "repr": "reprlib",
    ]

    private static let names: [String: [String: (String, String)]] = [
        "__builtin__": [
            "xrange": ("builtins", "range"), "reduce": ("functools", "reduce"), "intern": ("sys", "intern"),
            "unichr": ("builtins", "chr"), "unicode": ("builtins", "str"), "long": ("builtins", "int"),
            "basestring": ("builtins", "str"), "raw_input": ("builtins", "input"), "execfile": ("builtins", "exec"),
        ],
        "itertools": ["izip": ("builtins", "zip"), "imap": ("builtins", "map"), "ifilter": ("builtins", "filter")],
        "UserDict": ["IterableUserDict": ("collections", "UserDict")],
        "os": ["getcwdu": ("os", "getcwd")],
    ]

    /// The Python 2 spellings (module, name) of the Python 3 names in `python3`.
    static func python2Spellings(of python3: [String: Set<String>]) -> [(String, String)] {
        var spellings: [(String, String)] = []
        for (module, table) in names {
            for (name, target) in table where python3[target.0]?.contains(target.1) == true {
                spellings.append((module, name))
            }
        }
        // A renamed module keeps its names, except those the table above renames.
        for (old, new) in modules {
            for name in python3[new] ?? [] where names[old]?[name] == nil { spellings.append((old, name)) }
        }
        return spellings
    }

    /// The name CPython's loader resolves `module.name` to when `fix_imports` applies.
    static func map(module: String, name: String) -> (String, String) {
        if let pair = names[module]?[name] { return pair }
        if let renamed = modules[module] { return (renamed, name) }
        return (module, name)
    }
}
