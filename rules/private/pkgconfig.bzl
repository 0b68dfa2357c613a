"""Reading pkg-config files (`.pc`) of a sysroot, for the cc_library targets of its modules."""

def _expand(value, variables):
    """Expands the ${name} references of a .pc file value."""
    for _ in range(100):
        start = value.find("${")
        if start < 0:
            return value
        end = value.find("}", start)
        if end < 0:
            return value
        value = value[:start] + variables.get(value[start + 2:end], "") + value[end + 1:]
    fail("a .pc value expands without end: " + value)

def _parse(content):
    """Returns the fields (`Libs:`, `Cflags:`, ...) of a .pc file, variables expanded."""
    variables = {}
    fields = {}
    for line in content.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        colon = line.find(":")
        eq = line.find("=")
        if eq >= 0 and (colon < 0 or eq < colon):
            variables[line[:eq].strip()] = _expand(line[eq + 1:].strip(), variables)
        elif colon >= 0:
            fields[line[:colon].strip()] = _expand(line[colon + 1:].strip(), variables)
    return fields

def _requires(value):
    """Returns the module names of a Requires: value (`glib-2.0 >= 2.50, zlib` gives both)."""
    names = []
    for word in value.replace(",", " ").split(" "):
        if word and not word[0].isdigit() and word not in ["<", "<=", "=", ">=", ">", "!="]:
            names.append(word)
    return names

pkgconfig = struct(
    parse = _parse,
    requires = _requires,
)
