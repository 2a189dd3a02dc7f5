"""R-CONTENT-02: the article sanitiser (nh3) keeps what WeChat renders and removes the rest."""

from content.sanitise import data_images, sanitise


def test_r_content_02_formatting_sections_tables_and_wechat_images_are_kept():
    body = (
        '<section style="color: red; position: fixed"><p><strong>粗</strong><em>斜</em></p>'
        '<table><tbody><tr><td colspan="2">格</td></tr></tbody></table>'
        '<img src="https://mmbiz.qpic.cn/mmbiz_png/abc/0?wx_fmt=png" alt="图"></section>'
    )
    html = sanitise(body).html
    assert "<strong>粗</strong>" in html and 'colspan="2"' in html and "mmbiz.qpic.cn" in html
    assert "color:red" in html.replace(" ", "") and "position" not in html


def test_r_content_02_scripts_styles_iframes_forms_and_handlers_go_with_their_content():
    result = sanitise(
        "<p>留下</p><script>steal()</script><style>p{}</style><iframe src=x>框</iframe>"
        '<form><input name="a"></form><img src="x" onerror="steal()"><a href="javascript:steal()">点</a>'
    )
    assert "steal" not in result.html and "框" not in result.html and "<form" not in result.html
    assert "留下" in result.html and "点" in result.html
    assert result.removed["script"] == 1 and result.removed["iframe"] == 1 and result.handlers
    assert result.external_images == 1


def test_data_images_are_found_once_each():
    body = '<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/png;base64,iVBORw0KGgo=">'
    [(_url, extension, data)] = data_images(body)
    assert extension == "png" and data.startswith(b"\x89PNG")
