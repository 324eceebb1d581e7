//! What stock search deals in: providers, media kinds, orientations, the
//! results a provider gave (with every file size it offers), and the credit a
//! scene shows.

use serde::{Deserialize, Serialize};

/// A stock provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StockProvider {
    Pexels,
    Pixabay,
}

impl StockProvider {
    /// Every provider, in the order an `auto` search tries them.
    pub const ALL: [StockProvider; 2] = [StockProvider::Pexels, StockProvider::Pixabay];

    pub fn as_str(self) -> &'static str {
        match self {
            StockProvider::Pexels => "pexels",
            StockProvider::Pixabay => "pixabay",
        }
    }

    /// The provider's name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            StockProvider::Pexels => "Pexels",
            StockProvider::Pixabay => "Pixabay",
        }
    }
}

/// A photo or a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StockMedia {
    Photo,
    Video,
}

impl StockMedia {
    pub fn as_str(self) -> &'static str {
        match self {
            StockMedia::Photo => "photo",
            StockMedia::Video => "video",
        }
    }

    /// "Photo" or "Video", as a credit line starts.
    pub fn noun(self) -> &'static str {
        match self {
            StockMedia::Photo => "Photo",
            StockMedia::Video => "Video",
        }
    }
}

/// The shape of the pictures wanted: the template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    Landscape,
    Portrait,
    Square,
}

impl Orientation {
    /// The orientation of a frame of this size.
    pub fn of(width: u32, height: u32) -> Orientation {
        match width.cmp(&height) {
            std::cmp::Ordering::Greater => Orientation::Landscape,
            std::cmp::Ordering::Less => Orientation::Portrait,
            std::cmp::Ordering::Equal => Orientation::Square,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Orientation::Landscape => "landscape",
            Orientation::Portrait => "portrait",
            Orientation::Square => "square",
        }
    }

    /// Whether a picture of this size has the orientation (a square one
    /// serves every orientation; a near-square one serves square).
    pub fn fits(self, width: u32, height: u32) -> bool {
        let (w, h) = (f64::from(width), f64::from(height.max(1)));
        let ratio = w / h;
        match self {
            Orientation::Landscape => ratio >= 1.0,
            Orientation::Portrait => ratio <= 1.0,
            Orientation::Square => (0.75..=1.34).contains(&ratio),
        }
    }
}

/// One file a provider offers for a result, at its size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendition {
    pub url: String,
    pub width: u32,
    pub height: u32,
}

/// One result of a search, as the provider described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub provider: StockProvider,
    /// The provider's id.
    pub id: String,
    pub media: StockMedia,
    /// The original's size.
    pub width: u32,
    pub height: u32,
    /// Clips only.
    pub duration_seconds: Option<f64>,
    pub author: String,
    pub author_url: Option<String>,
    /// The result's page on the provider's site (for the credit).
    pub page_url: String,
    /// A small preview picture (the provider's URL).
    pub thumbnail: Option<String>,
    /// Every file offered, any order.
    pub renditions: Vec<Rendition>,
}

impl Found {
    /// The smallest file that covers `width` x `height` without enlarging
    /// (never a 4K clip for a 720p frame), else the largest there is.
    pub fn rendition_for(&self, width: u32, height: u32) -> Option<&Rendition> {
        let area = |r: &Rendition| u64::from(r.width) * u64::from(r.height);
        self.renditions
            .iter()
            .filter(|r| r.width >= width && r.height >= height)
            .min_by_key(|r| area(r))
            .or_else(|| self.renditions.iter().max_by_key(|r| area(r)))
    }

    /// Whether a file of this result covers `width` x `height`.
    pub fn covers(&self, width: u32, height: u32) -> bool {
        self.renditions.iter().any(|r| r.width >= width && r.height >= height)
    }

    /// The credit for showing this result.
    pub fn credit(&self) -> Credit {
        Credit {
            provider: self.provider,
            id: self.id.clone(),
            media: self.media,
            author: self.author.clone(),
            author_url: self.author_url.clone(),
            page_url: self.page_url.clone(),
        }
    }
}

/// Who made a stock picture or clip a scene shows, and where it comes from
/// (Pexels and Pixabay ask for attribution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credit {
    pub provider: StockProvider,
    /// The provider's id of the photo or clip.
    pub id: String,
    pub media: StockMedia,
    pub author: String,
    pub author_url: Option<String>,
    /// The photo's or clip's page on the provider's site.
    pub page_url: String,
}

impl Credit {
    /// "Photo by Jane Doe on Pexels".
    pub fn line(&self) -> String {
        format!("{} by {} on {}", self.media.noun(), self.author, self.provider.name())
    }
}

/// A search: what, which kind, which shape, which page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search {
    pub query: String,
    pub media: StockMedia,
    pub orientation: Orientation,
    /// From 1.
    pub page: u32,
}

/// Results per page asked of a provider.
pub const PER_PAGE: u32 = 15;

/// The longest query sent (Pixabay's limit is 100 characters).
pub const MAX_QUERY_CHARS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn found(renditions: &[(u32, u32)]) -> Found {
        Found {
            provider: StockProvider::Pexels,
            id: "1".into(),
            media: StockMedia::Video,
            width: 3840,
            height: 2160,
            duration_seconds: Some(10.0),
            author: "A".into(),
            author_url: None,
            page_url: "https://www.pexels.com/video/1/".into(),
            thumbnail: None,
            renditions: renditions
                .iter()
                .map(|&(width, height)| Rendition {
                    url: format!("https://videos.pexels.com/{width}.mp4"),
                    width,
                    height,
                })
                .collect(),
        }
    }

    #[test]
    fn the_smallest_file_that_covers_the_frame_is_chosen() {
        let clip = found(&[(3840, 2160), (640, 360), (1920, 1080), (1280, 720), (960, 540)]);
        assert_eq!(clip.rendition_for(1280, 720).map(|r| r.width), Some(1280));
        assert_eq!(clip.rendition_for(1300, 720).map(|r| r.width), Some(1920));
        assert_eq!(clip.rendition_for(1920, 1080).map(|r| r.width), Some(1920));
        // Nothing large enough: the largest.
        assert_eq!(clip.rendition_for(5000, 3000).map(|r| r.width), Some(3840));
        assert!(clip.covers(1280, 720));
        assert!(!found(&[(640, 360)]).covers(1280, 720));
        assert_eq!(found(&[]).rendition_for(1, 1), None);
    }

    #[test]
    fn orientations() {
        assert_eq!(Orientation::of(1280, 720), Orientation::Landscape);
        assert_eq!(Orientation::of(720, 1280), Orientation::Portrait);
        assert_eq!(Orientation::of(1080, 1080), Orientation::Square);
        assert!(Orientation::Landscape.fits(1920, 1080));
        assert!(!Orientation::Landscape.fits(1080, 1920));
        assert!(Orientation::Portrait.fits(1080, 1920));
        assert!(Orientation::Square.fits(1000, 1100));
        assert!(!Orientation::Square.fits(1920, 1080));
    }

    #[test]
    fn credit_lines_name_the_author_and_the_provider() {
        let mut clip = found(&[]);
        clip.author = "Jane Doe".into();
        assert_eq!(clip.credit().line(), "Video by Jane Doe on Pexels");
    }
}
