//! Pexels' API (pexels.com/api/documentation): `GET /v1/search` and
//! `GET /videos/search` with `Authorization: <key>`; one photo by id at
//! `GET /v1/photos/{id}`, one clip at `GET /videos/videos/{id}`.

use serde::Deserialize;

use super::types::{Found, PER_PAGE, Rendition, Search, StockMedia, StockProvider};
use crate::config::StockApi;

/// Hosts Pexels serves files from (its answers name these).
pub(super) const FILE_HOSTS: &[&str] =
    &["images.pexels.com", "videos.pexels.com", "static-videos.pexels.com", "player.vimeo.com"];

fn url(api: &StockApi, path: &str, query: &[(&str, &str)]) -> String {
    super::client::with_query(&api.base, path, query)
}

pub(super) fn search(http: &reqwest::Client, api: &StockApi, search: &Search) -> reqwest::RequestBuilder {
    let path = match search.media {
        StockMedia::Photo => "/v1/search",
        StockMedia::Video => "/videos/search",
    };
    let (per_page, page) = (PER_PAGE.to_string(), search.page.to_string());
    let query = [
        ("query", search.query.as_str()),
        ("orientation", search.orientation.as_str()),
        ("per_page", &per_page),
        ("page", &page),
    ];
    http.get(url(api, path, &query)).header("Authorization", api.key.expose())
}

pub(super) fn lookup(http: &reqwest::Client, api: &StockApi, media: StockMedia, id: &str) -> reqwest::RequestBuilder {
    let path = match media {
        StockMedia::Photo => format!("/v1/photos/{id}"),
        StockMedia::Video => format!("/videos/videos/{id}"),
    };
    http.get(url(api, &path, &[])).header("Authorization", api.key.expose())
}

#[derive(Deserialize)]
struct PhotoPage {
    #[serde(default)]
    photos: Vec<Photo>,
}

#[derive(Deserialize)]
struct Photo {
    id: u64,
    width: u32,
    height: u32,
    url: String,
    photographer: String,
    photographer_url: Option<String>,
    src: PhotoSources,
}

#[derive(Deserialize)]
struct PhotoSources {
    original: String,
    large2x: Option<String>,
    large: Option<String>,
    medium: Option<String>,
    landscape: Option<String>,
    portrait: Option<String>,
}

#[derive(Deserialize)]
struct VideoPage {
    #[serde(default)]
    videos: Vec<Video>,
}

#[derive(Deserialize)]
struct Video {
    id: u64,
    width: u32,
    height: u32,
    url: String,
    image: Option<String>,
    duration: Option<f64>,
    user: VideoUser,
    #[serde(default)]
    video_files: Vec<VideoFile>,
}

#[derive(Deserialize)]
struct VideoUser {
    name: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct VideoFile {
    file_type: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    link: String,
}

/// `width` x `height` scaled to fit inside `max_w` x `max_h` (never enlarged),
/// as Pexels' `w`/`h` resizing does.
fn fitted(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    let scale = (f64::from(max_w) / f64::from(width.max(1))).min(f64::from(max_h) / f64::from(height.max(1))).min(1.0);
    ((f64::from(width) * scale).round() as u32, (f64::from(height) * scale).round() as u32)
}

impl Photo {
    fn found(self) -> Found {
        let (w, h) = (self.width, self.height);
        let mut renditions = vec![Rendition { url: self.src.original, width: w, height: h }];
        let sized = [
            // `large2x` is `large` at twice the density; `medium` is 350 high.
            (self.src.large2x, fitted(w, h, 1880, 1300)),
            (self.src.large, fitted(w, h, 940, 650)),
            (self.src.medium, fitted(w, h, u32::MAX, 350)),
            // Cropped to exactly this size.
            (self.src.landscape, (1200, 627)),
            (self.src.portrait, (800, 1200)),
        ];
        for (url, (width, height)) in sized {
            if let Some(url) = url {
                renditions.push(Rendition { url, width, height });
            }
        }
        Found {
            provider: StockProvider::Pexels,
            id: self.id.to_string(),
            media: StockMedia::Photo,
            width: w,
            height: h,
            duration_seconds: None,
            author: self.photographer,
            author_url: self.photographer_url,
            page_url: self.url,
            thumbnail: renditions.iter().find(|r| r.height == fitted(w, h, u32::MAX, 350).1).map(|r| r.url.clone()),
            renditions,
        }
    }
}

impl Video {
    fn found(self) -> Found {
        let renditions = self
            .video_files
            .into_iter()
            // HLS playlists are not files.
            .filter(|f| f.file_type.as_deref().is_none_or(|t| t == "video/mp4"))
            .filter_map(|f| Some(Rendition { url: f.link, width: f.width?, height: f.height? }))
            .collect();
        Found {
            provider: StockProvider::Pexels,
            id: self.id.to_string(),
            media: StockMedia::Video,
            width: self.width,
            height: self.height,
            duration_seconds: self.duration,
            author: self.user.name,
            author_url: self.user.url,
            page_url: self.url,
            thumbnail: self.image,
            renditions,
        }
    }
}

/// The results of a search answer.
pub(super) fn parse_search(media: StockMedia, body: &[u8]) -> Result<Vec<Found>, serde_json::Error> {
    Ok(match media {
        StockMedia::Photo => serde_json::from_slice::<PhotoPage>(body)?.photos.into_iter().map(Photo::found).collect(),
        StockMedia::Video => serde_json::from_slice::<VideoPage>(body)?.videos.into_iter().map(Video::found).collect(),
    })
}

/// The one result of a lookup by id.
pub(super) fn parse_lookup(media: StockMedia, body: &[u8]) -> Result<Found, serde_json::Error> {
    Ok(match media {
        StockMedia::Photo => serde_json::from_slice::<Photo>(body)?.found(),
        StockMedia::Video => serde_json::from_slice::<Video>(body)?.found(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_answer_as_pexels_documents_it() {
        let body = br##"{"total_results":10000,"page":1,"per_page":1,"photos":[{"id":3573351,"width":3066,"height":3968,
            "url":"https://www.pexels.com/photo/trees-during-day-3573351/","photographer":"Lukas Rodriguez",
            "photographer_url":"https://www.pexels.com/@lukas-rodriguez-1845331","photographer_id":1845331,
            "avg_color":"#374824","src":{"original":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png",
            "large2x":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940",
            "large":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&h=650&w=940",
            "medium":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&h=350",
            "small":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&h=130",
            "portrait":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800",
            "landscape":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200",
            "tiny":"https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280"},
            "liked":false,"alt":"Brown Rocks During Golden Hour"}],"next_page":"https://api.pexels.com/v1/search/?page=2&per_page=1&query=nature"}"##;
        let found = parse_search(StockMedia::Photo, body).expect("parses");
        assert_eq!(found.len(), 1);
        let photo = &found[0];
        assert_eq!((photo.id.as_str(), photo.author.as_str()), ("3573351", "Lukas Rodriguez"));
        assert_eq!(photo.page_url, "https://www.pexels.com/photo/trees-during-day-3573351/");
        // Portrait photo: large2x fits 1880 x 1300 -> 1004 x 1300.
        assert!(photo.renditions.iter().any(|r| (r.width, r.height) == (1004, 1300) && r.url.contains("dpr=2")));
        // A portrait frame of 720 x 1280: the portrait crop (800 x 1200) is too short, large2x covers it.
        assert_eq!(photo.rendition_for(720, 1280).map(|r| (r.width, r.height)), Some((1004, 1300)));
        assert_eq!(photo.rendition_for(2000, 3000).map(|r| r.width), Some(3066));
        assert_eq!(photo.rendition_for(600, 1000).map(|r| (r.width, r.height)), Some((800, 1200)));
        assert!(photo.thumbnail.as_deref().is_some_and(|t| t.ends_with("h=350")));
    }

    #[test]
    fn a_video_answer_as_pexels_documents_it() {
        let body = br##"{"page":1,"per_page":1,"total_results":20475,"url":"https://www.pexels.com/videos/",
            "videos":[{"id":1448735,"width":4096,"height":2160,"url":"https://www.pexels.com/video/video-of-forest-1448735/",
            "image":"https://images.pexels.com/videos/1448735/free-video-1448735.jpg?fit=crop&w=1200&h=630&auto=compress&cs=tinysrgb",
            "duration":32,"user":{"id":574687,"name":"Ruvim Miksanskiy","url":"https://www.pexels.com/@digitech"},
            "video_files":[
              {"id":58649,"quality":"sd","file_type":"video/mp4","width":640,"height":338,"fps":25,"link":"https://videos.pexels.com/video-files/1448735/sd.mp4"},
              {"id":58650,"quality":"hd","file_type":"video/mp4","width":2048,"height":1080,"fps":25,"link":"https://videos.pexels.com/video-files/1448735/hd2k.mp4"},
              {"id":58651,"quality":"hd","file_type":"video/mp4","width":1366,"height":720,"fps":25,"link":"https://videos.pexels.com/video-files/1448735/hd720.mp4"},
              {"id":58652,"quality":"uhd","file_type":"video/mp4","width":4096,"height":2160,"fps":25,"link":"https://videos.pexels.com/video-files/1448735/uhd.mp4"},
              {"id":58653,"quality":null,"file_type":"hls","width":null,"height":null,"fps":null,"link":"https://player.vimeo.com/external/x.m3u8"}],
            "video_pictures":[{"id":133236,"picture":"https://static-videos.pexels.com/videos/1448735/pictures/preview-0.jpg","nr":0}]}]}"##;
        let found = parse_search(StockMedia::Video, body).expect("parses");
        let clip = &found[0];
        assert_eq!(clip.duration_seconds, Some(32.0));
        assert_eq!(clip.renditions.len(), 4, "the HLS playlist is not a file");
        assert_eq!(
            clip.rendition_for(1280, 720).map(|r| r.url.as_str()),
            Some("https://videos.pexels.com/video-files/1448735/hd720.mp4")
        );
        assert_eq!(clip.author_url.as_deref(), Some("https://www.pexels.com/@digitech"));
    }

    #[test]
    fn an_answer_of_another_shape_is_an_error_and_no_results_is_empty() {
        assert!(parse_search(StockMedia::Photo, b"<html>").is_err());
        assert_eq!(
            parse_search(StockMedia::Video, br##"{"videos":[],"total_results":0}"##).map(|v| v.len()).ok(),
            Some(0)
        );
    }
}
