"""The rule table shared by the validator tests and the validator-vs-sandbox test.

Each case: (id, menu JSON, certified, expected errcode or None when valid).
"""

CLICK = {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"}
VIEW = {"type": "view", "name": "搜索", "url": "http://www.soso.com/"}


def leaf(**fields):
    return {"type": "click", "name": "按钮", "key": "K_" + fields.get("name", "x")[:4], **fields}


VALID_MENU = {
    "button": [
        CLICK,
        {
            "name": "菜单",
            "sub_button": [
                VIEW,
                {
                    "type": "miniprogram",
                    "name": "wxa",
                    "url": "http://mp.weixin.qq.com",
                    "appid": "wx286b93c14bbf93aa",
                    "pagepath": "pages/lunar/index",
                },
                {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD"},
            ],
        },
        {
            "name": "扫码",
            "sub_button": [
                {"type": "scancode_waitmsg", "name": "扫码带提示", "key": "rselfmenu_0_0"},
                {"type": "scancode_push", "name": "扫码推事件", "key": "rselfmenu_0_1"},
                {"type": "pic_sysphoto", "name": "系统拍照发图", "key": "rselfmenu_1_0"},
                {"type": "pic_photo_or_album", "name": "拍照或者相册发图", "key": "rselfmenu_1_1"},
                {"type": "location_select", "name": "发送位置", "key": "rselfmenu_2_0"},
            ],
        },
    ]
}

ALL_TYPES_MENU = {
    "button": [
        {
            "name": "A",
            "sub_button": [
                {"type": "pic_weixin", "name": "微信相册发图", "key": "rselfmenu_1_2"},
                {"type": "media_id", "name": "图片", "media_id": "MEDIA_ID1"},
                {"type": "view_limited", "name": "图文消息", "media_id": "MEDIA_ID2"},
                {"type": "article_id", "name": "发布后的图文", "article_id": "ARTICLE_ID1"},
                {"type": "article_view_limited", "name": "发布后的图文2", "article_id": "ARTICLE_ID2"},
            ],
        },
        CLICK,
        VIEW,
    ]
}


#: a valid mini-program button; the cases below break one field of it at a time
MINIPROGRAM = {
    "type": "miniprogram",
    "name": "wxa",
    "url": "http://mp.weixin.qq.com",
    "appid": "wx286b93c14bbf93aa",
    "pagepath": "pages/index",
}


def one(button):
    return {"button": [button]}


def sub(button):
    return {"button": [{"name": "父", "sub_button": [button]}]}


CASES = [
    ("valid_full_menu", VALID_MENU, True, None),
    ("valid_all_other_types", ALL_TYPES_MENU, True, None),
    ("no_buttons_40016", {"button": []}, True, 40016),
    (
        "four_buttons_40016",
        {"button": [CLICK, VIEW, {**CLICK, "key": "b"}, {**CLICK, "key": "c"}]},
        True,
        40016,
    ),
    ("top_name_17_bytes_40018", one({**CLICK, "name": "一二三四五六"}), True, 40018),
    ("top_name_16_bytes_ok", one({**CLICK, "name": "一二三四五x"}), True, None),
    ("top_name_empty_40018", one({**CLICK, "name": ""}), True, 40018),
    ("sub_name_61_bytes_40025", sub({**CLICK, "name": "一" * 20 + "x"}), True, 40025),
    ("sub_name_60_bytes_ok", sub({**CLICK, "name": "一" * 20}), True, None),
    ("unknown_top_type_40017", one({**CLICK, "type": "dance"}), True, 40017),
    ("unknown_sub_type_40024", sub({**CLICK, "type": "dance"}), True, 40024),
    ("top_key_missing_40019", one({"type": "click", "name": "a"}), True, 40019),
    ("top_key_129_bytes_40019", one({**CLICK, "key": "k" * 129}), True, 40019),
    ("top_key_128_bytes_ok", one({**CLICK, "key": "k" * 128}), True, None),
    ("sub_key_129_bytes_40026", sub({**CLICK, "key": "k" * 129}), True, 40026),
    ("top_url_missing_40020", one({"type": "view", "name": "a"}), True, 40020),
    ("top_url_1025_bytes_40020", one({**VIEW, "url": "https://a.cn/" + "x" * (1025 - 13)}), True, 40020),
    ("top_url_1024_bytes_ok", one({**VIEW, "url": "https://a.cn/" + "x" * (1024 - 13)}), True, None),
    ("sub_url_1025_bytes_40027", sub({**VIEW, "url": "https://a.cn/" + "x" * (1025 - 13)}), True, 40027),
    ("top_url_no_scheme_40055", one({**VIEW, "url": "www.soso.com"}), True, 40055),
    ("sub_url_ftp_40054", sub({**VIEW, "url": "ftp://www.soso.com/"}), True, 40054),
    (
        "six_sub_buttons_40023",
        {"button": [{"name": "父", "sub_button": [{**CLICK, "key": f"k{i}"} for i in range(6)]}]},
        True,
        40023,
    ),
    (
        "five_sub_buttons_ok",
        {"button": [{"name": "父", "sub_button": [{**CLICK, "key": f"k{i}"} for i in range(5)]}]},
        True,
        None,
    ),
    (
        "nested_sub_buttons_40022",
        {"button": [{"name": "父", "sub_button": [{"name": "子", "sub_button": [CLICK]}]}]},
        True,
        40022,
    ),
    ("empty_sub_buttons_41007", {"button": [{"name": "父", "sub_button": []}]}, True, 41007),
    (
        "miniprogram_uncertified_top_40119",
        one(MINIPROGRAM),
        False,
        40119,
    ),
    (
        "miniprogram_uncertified_sub_40120",
        sub(MINIPROGRAM),
        False,
        40120,
    ),
    (
        "four_domains_65316",
        {
            "button": [
                {
                    "name": "链接",
                    "sub_button": [
                        {**VIEW, "name": f"站{i}", "url": f"https://d{i}.example.com/"} for i in range(4)
                    ],
                }
            ]
        },
        True,
        65316,
    ),
    (
        "three_domains_ok",
        {
            "button": [
                {
                    "name": "链接",
                    "sub_button": [
                        {**VIEW, "name": f"站{i}", "url": f"https://d{i}.example.com/p{i}"} for i in range(3)
                    ]
                    + [{**VIEW, "name": "再", "url": "https://d0.example.com/x"}],
                }
            ]
        },
        True,
        None,
    ),
    (
        "miniprogram_bad_appid_40166",
        one({**MINIPROGRAM, "appid": "not-an-appid"}),
        True,
        40166,
    ),
    (
        "miniprogram_missing_pagepath_40165",
        sub({key: value for key, value in MINIPROGRAM.items() if key != "pagepath"}),
        True,
        40165,
    ),
    (
        "miniprogram_missing_url_40020",
        one({key: value for key, value in MINIPROGRAM.items() if key != "url"}),
        True,
        40020,
    ),
    ("media_id_missing_40007", sub({"type": "media_id", "name": "图片"}), True, 40007),
    (
        "media_id_129_bytes_40007",
        one({"type": "view_limited", "name": "图文", "media_id": "m" * 129}),
        True,
        40007,
    ),
    ("article_id_missing_40007", one({"type": "article_view_limited", "name": "文"}), True, 40007),
    ("sub_url_without_host_40054", sub({**VIEW, "url": "https:///path"}), True, 40054),
    ("sub_key_missing_40026", sub({"type": "pic_weixin", "name": "相册"}), True, 40026),
]
