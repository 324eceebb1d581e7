//! Pixabay's API (pixabay.com/api/docs): `GET /api/` (photos) and
//! `GET /api/videos/` with `key=` in the query; one result by `id=`.

use serde::Deserialize;

use super::types::{Found, PER_PAGE, Rendition, Search, StockMedia, StockProvider};
use crate::config::StockApi;
use crate::stock::types::Orientation;

/// Hosts Pixabay serves files from.
pub(super) const FILE_HOSTS: &[&str] = &["pixabay.com", "cdn.pixabay.com"];

fn url(api: &StockApi, media: StockMedia, query: &[(&str, &str)]) -> String {
    let path = match media {
        StockMedia::Photo => "/api/",
        StockMedia::Video => "/api/videos/",
    };
    super::client::with_query(&api.base, path, query)
}

pub(super) fn search(http: &reqwest::Client, api: &StockApi, search: &Search) -> reqwest::RequestBuilder {
    let mut query = vec![
        ("key", api.key.expose().to_string()),
        ("q", search.query.clone()),
        ("safesearch", "true".to_string()),
        ("per_page", PER_PAGE.to_string()),
        ("page", search.page.to_string()),
    ];
    match search.media {
        StockMedia::Photo => {
            query.push(("image_type", "photo".into()));
            // Pixabay knows no square; the results are filtered.
            let orientation = match search.orientation {
                Orientation::Landscape => "horizontal",
                Orientation::Portrait => "vertical",
                Orientation::Square => "all",
            };
            query.push(("orientation", orientation.into()));
        }
        StockMedia::Video => query.push(("video_type", "film".into())),
    }
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    http.get(url(api, search.media, &query))
}

pub(super) fn lookup(http: &reqwest::Client, api: &StockApi, media: StockMedia, id: &str) -> reqwest::RequestBuilder {
    http.get(url(api, media, &[("key", api.key.expose()), ("id", id)]))
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    hits: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Photo {
    id: u64,
    #[serde(rename = "pageURL")]
    page_url: String,
    #[serde(rename = "webformatURL")]
    webformat_url: Option<String>,
    #[serde(rename = "largeImageURL")]
    large_image_url: Option<String>,
    #[serde(rename = "fullHDURL")]
    full_hd_url: Option<String>,
    #[serde(rename = "imageURL")]
    image_url: Option<String>,
    image_width: u32,
    image_height: u32,
    user: String,
    #[serde(rename = "user_id")]
    user_id: Option<u64>,
}

#[derive(Deserialize)]
struct Video {
    id: u64,
    #[serde(rename = "pageURL")]
    page_url: String,
    duration: Option<f64>,
    videos: VideoFiles,
    user: String,
    user_id: Option<u64>,
}

#[derive(Deserialize)]
struct VideoFiles {
    large: Option<VideoFile>,
    medium: Option<VideoFile>,
    small: Option<VideoFile>,
    tiny: Option<VideoFile>,
}

#[derive(Deserialize)]
struct VideoFile {
    url: String,
    width: u32,
    height: u32,
    thumbnail: Option<String>,
}

fn user_page(user: &str, id: Option<u64>) -> Option<String> {
    id.map(|id| format!("https://pixabay.com/users/{user}-{id}/"))
}

/// `width` x `height` with its longest side at most `longest` (never enlarged).
fn longest_side(width: u32, height: u32, longest: u32) -> (u32, u32) {
    let scale = (f64::from(longest) / f64::from(width.max(height).max(1))).min(1.0);
    ((f64::from(width) * scale).round() as u32, (f64::from(height) * scale).round() as u32)
}

impl Photo {
    fn found(self) -> Found {
        let (w, h) = (self.image_width, self.image_height);
        let sized = [
            (self.webformat_url.clone(), longest_side(w, h, 640)),
            (self.large_image_url, longest_side(w, h, 1280)),
            // Only with full API access.
            (self.full_hd_url, longest_side(w, h, 1920)),
            (self.image_url, (w, h)),
        ];
        let renditions = sized
            .into_iter()
            .filter_map(|(url, (width, height))| Some(Rendition { url: url.filter(|u| !u.is_empty())?, width, height }))
            .collect();
        Found {
            provider: StockProvider::Pixabay,
            id: self.id.to_string(),
            media: StockMedia::Photo,
            width: w,
            height: h,
            duration_seconds: None,
            author_url: user_page(&self.user, self.user_id),
            author: self.user,
            page_url: self.page_url,
            thumbnail: self.webformat_url,
            renditions,
        }
    }
}

impl Video {
    fn found(self) -> Found {
        let files: Vec<VideoFile> = [self.videos.large, self.videos.medium, self.videos.small, self.videos.tiny]
            .into_iter()
            .flatten()
            // Pixabay sends an empty `large` when there is no such size.
            .filter(|f| !f.url.is_empty() && f.width > 0 && f.height > 0)
            .collect();
        let (width, height) = files.first().map(|f| (f.width, f.height)).unwrap_or_default();
        let thumbnail = files.iter().rev().find_map(|f| f.thumbnail.clone().filter(|t| !t.is_empty()));
        Found {
            provider: StockProvider::Pixabay,
            id: self.id.to_string(),
            media: StockMedia::Video,
            width,
            height,
            duration_seconds: self.duration,
            author_url: user_page(&self.user, self.user_id),
            author: self.user,
            page_url: self.page_url,
            thumbnail,
            renditions: files.into_iter().map(|f| Rendition { url: f.url, width: f.width, height: f.height }).collect(),
        }
    }
}

/// The results of a search (or lookup) answer.
pub(super) fn parse_search(media: StockMedia, body: &[u8]) -> Result<Vec<Found>, serde_json::Error> {
    Ok(match media {
        StockMedia::Photo => serde_json::from_slice::<Page<Photo>>(body)?.hits.into_iter().map(Photo::found).collect(),
        StockMedia::Video => serde_json::from_slice::<Page<Video>>(body)?.hits.into_iter().map(Video::found).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_answer_as_pixabay_documents_it() {
        let body = br##"{"total":4692,"totalHits":500,"hits":[{"id":195893,"pageURL":"https://pixabay.com/en/blossom-bloom-flower-195893/",
            "type":"photo","tags":"blossom, bloom, flower","previewURL":"https://cdn.pixabay.com/photo/2013/10/15/09/12/flower-195893_150.jpg",
            "previewWidth":150,"previewHeight":84,"webformatURL":"https://pixabay.com/get/35bbf209e13e39d2_640.jpg","webformatWidth":640,
            "webformatHeight":360,"largeImageURL":"https://pixabay.com/get/ed6a99fd0a76647_1280.jpg","imageWidth":4000,"imageHeight":2250,
            "imageSize":4731420,"views":7671,"downloads":6439,"likes":5,"comments":2,"user_id":48777,"user":"Josch13",
            "userImageURL":"https://cdn.pixabay.com/user/2013/11/05/02-10-23-764_250x250.jpg"}]}"##;
        let found = parse_search(StockMedia::Photo, body).expect("parses");
        let photo = &found[0];
        assert_eq!((photo.id.as_str(), photo.author.as_str()), ("195893", "Josch13"));
        assert_eq!(photo.author_url.as_deref(), Some("https://pixabay.com/users/Josch13-48777/"));
        assert_eq!(photo.renditions.len(), 2);
        // 720p needs the 1280 file (1280 x 720); nothing covers 1080p: the largest.
        assert_eq!(photo.rendition_for(1280, 720).map(|r| (r.width, r.height)), Some((1280, 720)));
        assert_eq!(photo.rendition_for(1920, 1080).map(|r| r.width), Some(1280));
    }

    #[test]
    fn a_video_answer_as_pixabay_documents_it() {
        let body = br##"{"total":4,"totalHits":4,"hits":[{"id":125,"pageURL":"https://pixabay.com/videos/id-125/","type":"film",
            "tags":"flowers, yellow, blossom","duration":12,"videos":{
            "large":{"url":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_large.mp4","width":1920,"height":1080,"size":6615235,"thumbnail":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_large.jpg"},
            "medium":{"url":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_medium.mp4","width":1280,"height":720,"size":3562083,"thumbnail":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_medium.jpg"},
            "small":{"url":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_small.mp4","width":960,"height":540,"size":2030736,"thumbnail":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_small.jpg"},
            "tiny":{"url":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_tiny.mp4","width":640,"height":360,"size":1030736,"thumbnail":"https://cdn.pixabay.com/video/2015/08/08/125-135736646_tiny.jpg"}},
            "views":4462,"downloads":1464,"likes":18,"comments":0,"user_id":1281706,"user":"Coverr-Free-Footage","userImageURL":""}]}"##;
        let found = parse_search(StockMedia::Video, body).expect("parses");
        let clip = &found[0];
        assert_eq!(clip.duration_seconds, Some(12.0));
        assert_eq!(clip.renditions.len(), 4);
        assert!(clip.rendition_for(1280, 720).is_some_and(|r| r.url.ends_with("_medium.mp4")));
        assert!(clip.thumbnail.as_deref().is_some_and(|t| t.ends_with("_tiny.jpg")));
    }

    #[test]
    fn an_empty_large_file_is_skipped() {
        let body = br##"{"hits":[{"id":1,"pageURL":"https://pixabay.com/videos/id-1/","duration":5,"user":"u","user_id":2,
            "videos":{"large":{"url":"","width":0,"height":0,"size":0},"medium":{"url":"https://cdn.pixabay.com/v/1_medium.mp4","width":1280,"height":720,"size":1}}}]}"##;
        let found = parse_search(StockMedia::Video, body).expect("parses");
        assert_eq!(found[0].renditions.len(), 1);
        assert_eq!((found[0].width, found[0].height), (1280, 720));
    }
}
