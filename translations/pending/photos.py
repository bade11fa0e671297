"""Chinese for the photo-attachment strings (webapp/rounds/photos.py, webapp/sync/guard.py,
webapp/sync/views.py); the lead merges them into translations/zh_Hans_CN."""

ZH = {
    "This photo id is already used by another upload.": "该照片编号已被其他上传使用。",
    "This grid is not one of yours.": "这不是您负责的网格。",
    "The photo list is not valid.": "照片列表不正确。",
    "A photo was not found. Upload it again and retry.": "找不到照片，请重新上传后再试。",
    "A photo belongs to another grid.": "有照片属于其他网格。",
    "The photo is empty.": "照片是空的。",
    "The photo is larger than %(mb)d MB.": "照片超过 %(mb)d MB。",
    "The file is not a JPEG, PNG or WebP photo.": "该文件不是 JPEG、PNG 或 WebP 照片。",
    "Only JPEG, PNG or WebP photos can be uploaded.": "只能上传 JPEG、PNG 或 WebP 格式的照片。",
    "The photo has too many pixels (at most %(megapixels)d million).": (
        "照片像素过多（最多 %(megapixels)d 百万像素）。"
    ),
    "The file is not a readable image.": "无法读取该图片。",
    "This address is for the GridRounds app only.": "此地址仅供网格通应用使用。",
    "Requests from other websites are refused.": "拒绝来自其他网站的请求。",
}
