from definitions.browse.labels import hierarchy_lines


def test_namespaced_attributes_show_in_the_hierarchy_markup():
    use = {
        "tag": "use",
        "ns": "svg",
        "attrs": {"href": "#a"},
        "ns_attrs": [{"ns": "xlink", "name": "xlink:href", "value": "#b"}],
    }
    lines = hierarchy_lines([use, {"tag": "body"}, {"tag": "html"}])
    assert lines[0]["markup"] == '<use href="#a" xlink:href="#b">'
    assert lines[0]["ns"] == "svg"
