//! Text tables whose columns line up in a terminal even when cells hold Hangul (or other wide
//! characters): widths are display columns (`unicode-width`), where a Hangul syllable counts
//! two, not bytes or `char`s.

use unicode_width::UnicodeWidthStr;

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right (text).
    Left,
    /// Padded on the left (numbers).
    Right,
}

/// A table printed with two spaces between columns; the last column is not padded.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

/// Display width of `s` in terminal columns (Hangul syllables count two).
pub fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

impl Table {
    /// A table with these column headers, every column left-aligned.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = vec![Align::Left; headers.len()];
        Table {
            headers,
            align,
            rows: Vec::new(),
        }
    }

    /// Right-align column `i` (0-based).
    pub fn right(mut self, i: usize) -> Self {
        if let Some(a) = self.align.get_mut(i) {
            *a = Align::Right;
        }
        self
    }

    /// Add a row (missing cells print empty; extra cells are kept as extra columns).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Number of rows (without the header).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rendered lines, header first, without trailing spaces.
    pub fn lines(&self) -> Vec<String> {
        let ncols = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; ncols];
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(display_width(c));
            }
        }
        std::iter::once(&self.headers)
            .chain(&self.rows)
            .map(|r| {
                let mut line = String::new();
                for (i, w) in widths.iter().enumerate() {
                    let cell = r.get(i).map(String::as_str).unwrap_or("");
                    let pad = w - display_width(cell);
                    let last = i + 1 == ncols;
                    if i > 0 {
                        line.push_str("  ");
                    }
                    match self.align.get(i).copied().unwrap_or(Align::Left) {
                        Align::Right => {
                            line.push_str(&" ".repeat(pad));
                            line.push_str(cell);
                        }
                        Align::Left => {
                            line.push_str(cell);
                            if !last {
                                line.push_str(&" ".repeat(pad));
                            }
                        }
                    }
                }
                line.trim_end().to_string()
            })
            .collect()
    }

    /// Print the table to stdout.
    pub fn print(&self, out: &crate::output::Out) -> gureum::Result<()> {
        for l in self.lines() {
            out.line(l)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangul_counts_double_width() {
        assert_eq!(display_width("민원"), 4);
        assert_eq!(display_width("ocr-1"), 5);
        let mut t = Table::new(["NAME", "SIZE", "STATE"]).right(1);
        t.row(["민원-작업자", "12", "running"]);
        t.row(["ocr-1", "3456", "stopped"]);
        let l = t.lines();
        assert_eq!(t.len(), 2);
        // The third column starts at the same display column on every line.
        let col = |s: &str, word: &str| display_width(&s[..s.find(word).unwrap()]);
        assert_eq!(col(&l[0], "STATE"), col(&l[1], "running"));
        assert_eq!(col(&l[1], "running"), col(&l[2], "stopped"));
        assert_eq!(col(&l[1], "running"), 11 + 2 + 4 + 2);
        // Numbers are right-aligned: they end in the same column.
        assert_eq!(col(&l[1], "12") + 2, col(&l[2], "3456") + 4);
        assert!(l.iter().all(|s| !s.ends_with(' ')));
    }
}
