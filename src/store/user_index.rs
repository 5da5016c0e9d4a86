//! The index behind the Users list: search and paging that read a page's
//! worth of the file, not every user.
//!
//! Four tables (see `tables`), kept by [`reindex`] in the write transaction
//! of every change to a user (`users::insert_user`, `put_user`,
//! `record_sign_in`, `remove_user`):
//!
//! - **rows**: per user, the lower-cased name and email and the user's key in
//!   each sort order; what the index last wrote, so a change removes exactly
//!   the entries it made.
//! - **grams**: gram → user ids (see `domain::user_search`); a gram's number
//!   of users is free to read (redb keeps it), so a search starts from its
//!   rarest gram.
//! - **sort keys**: one entry per user and column, `[column] ++ key ++ 0 ++
//!   id`, valued with the name and email, so a walk in order can test a
//!   search term without reading the user.
//! - **blocks**: the sort keys cut into runs of at most [`BLOCK_MAX`], each
//!   with its count: page 1 000 is found by adding up a few hundred counts
//!   and stepping through one block, not by walking 50 000 keys.
//!
//! A search with a term picks the cheaper of two plans. *Fetch*: read the
//! rarest gram's users, confirm each against its row, sort by the row's key.
//! *Walk*: go through the sort keys in order, testing each entry's name and
//! email, until the page is full. Fetching costs per candidate, walking per
//! user passed, so common grams walk and rare ones fetch; a walk that meets
//! fewer matches than expected (they bunch up: a first name, listed by name)
//! stops once it has cost what fetching would, and fetches. A term of up to
//! three characters is one gram, so its count is exact and free; a longer
//! term that is common everywhere is counted by walking on at most
//! [`COUNT_BUDGET`] more entries, and past that its total is left unknown.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::check::{Problems, sorted_difference};
use super::codec::Record;
use super::{StoreError, tables};
use crate::domain::user_search::{SearchText, fields_match, joined_matches};
use crate::domain::{User, UserId, UserPage, UserQuery, UserSort, role};

/// Largest block of sort keys; a fuller one is split in two.
const BLOCK_MAX: u64 = if cfg!(test) { 8 } else { 256 };

/// A fetch reads a posting, a row and sorts; a walk step reads one entry.
/// Measured (`cargo bench --bench users`): a fetch costs about six steps.
const FETCH_COST: u64 = 6;

/// The most candidates a longer term fetches; beyond, it walks. (Unit
/// tests use small limits so a few hundred users take every path.)
const FETCH_LIMIT: u64 = if cfg!(test) { 20 } else { 4_000 };

/// A walk is chosen only when this many times its expected steps (matches
/// spread evenly) still cost less than fetching: matches often bunch up.
const WALK_SLACK: u64 = 8;

/// The least budget a walk gets (a page of a few hundred is always cheap).
const MIN_WALK: u64 = if cfg!(test) { 4 } else { 1_000 };

/// How many more entries a walk reads to count a long common term.
const COUNT_BUDGET: u64 = if cfg!(test) { 40 } else { 10_000 };

const ROW_VERSION: u8 = 1;

/// The byte that starts a column's sort keys and blocks. Stored: never
/// renumber.
fn column_byte(sort: UserSort) -> u8 {
    match sort {
        UserSort::Name => 1,
        UserSort::Email => 2,
        UserSort::Roles => 3,
        UserSort::LastSignIn => 4,
        UserSort::Status => 5,
    }
}

/// What the index holds for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    text: SearchText,
    /// One per column, in `UserSort::ALL` order.
    keys: Vec<Vec<u8>>,
}

impl Row {
    fn of(user: &User) -> Self {
        Self {
            text: SearchText::of(user),
            keys: UserSort::ALL.iter().map(|s| s.key_of(user)).collect(),
        }
    }

    fn key(&self, sort: UserSort) -> &[u8] {
        let i = UserSort::ALL.iter().position(|s| *s == sort).unwrap_or(0);
        self.keys.get(i).map_or(&[], Vec::as_slice)
    }

    /// Version byte, then each part as a little-endian u32 length and bytes.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![ROW_VERSION];
        let parts = [self.text.name.as_bytes(), self.text.email.as_bytes()]
            .into_iter()
            .chain(self.keys.iter().map(Vec::as_slice));
        for part in parts {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let parts = RowParts::read(bytes)?;
        Ok(Self {
            text: SearchText {
                name: parts.name()?.to_owned(),
                email: parts.email()?.to_owned(),
            },
            keys: parts.0[2..].iter().map(|k| k.to_vec()).collect(),
        })
    }
}

/// A stored row read in place: name, email, then one key per column. A
/// search reads thousands of rows, so it borrows rather than copies.
struct RowParts<'a>([&'a [u8]; 2 + UserSort::ALL.len()]);

impl<'a> RowParts<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let Some((&ROW_VERSION, mut rest)) = bytes.split_first() else {
            return Err(corrupt_row("unknown row version"));
        };
        let mut parts = [&[][..]; 2 + UserSort::ALL.len()];
        for part in &mut parts {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| corrupt_row("cut short"))?;
            let (found, tail) = tail
                .split_at_checked(u32::from_le_bytes(*len) as usize)
                .ok_or_else(|| corrupt_row("cut short"))?;
            *part = found;
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(corrupt_row("too many parts"));
        }
        Ok(Self(parts))
    }

    fn name(&self) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.0[0]).map_err(|_| corrupt_row("not UTF-8"))
    }

    fn email(&self) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.0[1]).map_err(|_| corrupt_row("not UTF-8"))
    }

    fn key(&self, sort: UserSort) -> &'a [u8] {
        let i = UserSort::ALL.iter().position(|s| *s == sort).unwrap_or(0);
        self.0[2 + i]
    }
}

fn corrupt_row(reason: &str) -> StoreError {
    StoreError::Corrupt {
        table: "user_index_rows",
        reason: reason.into(),
    }
}

fn sort_entry(sort: UserSort, key: &[u8], id: UserId) -> Vec<u8> {
    let mut entry = Vec::with_capacity(key.len() + 10);
    entry.push(column_byte(sort));
    entry.extend_from_slice(key);
    entry.push(0);
    entry.extend_from_slice(&id.to_be_bytes());
    entry
}

/// The user id at the end of a sort entry.
fn id_of_entry(entry: &[u8]) -> Result<UserId, StoreError> {
    entry
        .len()
        .checked_sub(8)
        .and_then(|at| entry[at..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            table: "user_sort_keys",
            reason: "entry too short".into(),
        })
}

/// Brings the index of user `id` up to date with `user` as now stored, or
/// removes it (`None`). Touches only what changed, so a sign-in's new time
/// rewrites one sort entry, not the grams.
pub(super) fn reindex(
    tx: &WriteTransaction,
    id: UserId,
    user: Option<&User>,
) -> Result<(), StoreError> {
    let mut rows = tx.open_table(tables::USER_INDEX_ROWS)?;
    let old = rows.get(id)?.map(|v| Row::decode(v.value())).transpose()?;
    let new = user.map(Row::of);
    if old == new {
        return Ok(());
    }
    match &new {
        Some(row) => rows.insert(id, row.encode().as_slice())?,
        None => rows.remove(id)?,
    };
    drop(rows);

    let old_grams = old.as_ref().map(|r| r.text.grams()).unwrap_or_default();
    let new_grams = new.as_ref().map(|r| r.text.grams()).unwrap_or_default();
    if old_grams != new_grams {
        let mut grams = tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?;
        for gram in old_grams.difference(&new_grams) {
            grams.remove(gram.as_str(), id)?;
        }
        for gram in new_grams.difference(&old_grams) {
            grams.insert(gram.as_str(), id)?;
        }
    }

    let text_changed = old.as_ref().map(|r| &r.text) != new.as_ref().map(|r| &r.text);
    let joined = new.as_ref().map(|r| r.text.joined()).unwrap_or_default();
    let mut keys = tx.open_table(tables::USER_SORT_KEYS)?;
    let mut blocks = tx.open_table(tables::USER_SORT_BLOCKS)?;
    for sort in UserSort::ALL {
        let old_entry = old.as_ref().map(|r| sort_entry(sort, r.key(sort), id));
        let new_entry = new.as_ref().map(|r| sort_entry(sort, r.key(sort), id));
        if old_entry == new_entry {
            if text_changed && let Some(entry) = &new_entry {
                // The key stays; the name and email beside it change.
                keys.insert(entry.as_slice(), joined.as_bytes())?;
            }
            continue;
        }
        if let Some(entry) = &old_entry {
            keys.remove(entry.as_slice())?;
            uncount(&mut blocks, entry)?;
        }
        if let Some(entry) = &new_entry {
            keys.insert(entry.as_slice(), joined.as_bytes())?;
            count(&mut blocks, &keys, entry)?;
        }
    }
    Ok(())
}

type Blocks<'t> = redb::Table<'t, &'static [u8], u64>;
type Keys<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// The block `entry` falls in: the last block starting at or before it.
/// Each column's first block starts at the bare column byte, before all
/// of its entries, and is made when the column gets its first entry.
fn block_of(blocks: &mut Blocks<'_>, entry: &[u8]) -> Result<(Vec<u8>, u64), StoreError> {
    let found = blocks
        .range::<&[u8]>(..=entry)?
        .next_back()
        .transpose()?
        .map(|(k, v)| (k.value().to_vec(), v.value()));
    match found {
        Some((start, n)) if start.first() == entry.first() => Ok((start, n)),
        _ => {
            let sentinel = entry[..1].to_vec();
            blocks.insert(sentinel.as_slice(), 0)?;
            Ok((sentinel, 0))
        }
    }
}

fn count(blocks: &mut Blocks<'_>, keys: &Keys<'_>, entry: &[u8]) -> Result<(), StoreError> {
    let (start, n) = block_of(blocks, entry)?;
    let n = n + 1;
    if n <= BLOCK_MAX {
        blocks.insert(start.as_slice(), n)?;
        return Ok(());
    }
    // Split: the second half starts at the block's middle entry.
    let half = n / 2;
    let middle = keys
        .range::<&[u8]>(start.as_slice()..)?
        .nth(half as usize)
        .transpose()?
        .map(|(k, _)| k.value().to_vec())
        .ok_or_else(|| StoreError::Corrupt {
            table: "user_sort_blocks",
            reason: "a block counts more keys than there are".into(),
        })?;
    blocks.insert(start.as_slice(), half)?;
    blocks.insert(middle.as_slice(), n - half)?;
    Ok(())
}

fn uncount(blocks: &mut Blocks<'_>, entry: &[u8]) -> Result<(), StoreError> {
    let (start, n) = block_of(blocks, entry)?;
    let n = n.saturating_sub(1);
    if n == 0 && start.len() > 1 {
        // Its range joins the block before, which gains nothing.
        blocks.remove(start.as_slice())?;
    } else {
        blocks.insert(start.as_slice(), n)?;
    }
    Ok(())
}

/// The ids of the users holding Global Administrator, read from the Roles
/// order, where they come first (its id is the smallest there is).
pub(super) fn global_administrators(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
) -> Result<Vec<UserId>, StoreError> {
    let mut from = vec![column_byte(UserSort::Roles), 1];
    from.extend_from_slice(&role::GLOBAL_ADMINISTRATOR.to_be_bytes());
    let mut to = vec![column_byte(UserSort::Roles), 1];
    to.extend_from_slice(&(role::GLOBAL_ADMINISTRATOR + 1).to_be_bytes());
    keys.range::<&[u8]>(from.as_slice()..to.as_slice())?
        .map(|entry| id_of_entry(entry?.0.value()))
        .collect()
}

/// One page of the list, with its ids in order (one more than a page when
/// a later page exists).
struct Found {
    ids: Vec<UserId>,
    total: Option<u64>,
    page: u32,
}

pub(super) fn page(tx: &ReadTransaction, query: &UserQuery) -> Result<UserPage, StoreError> {
    let users = tx.open_table(tables::USERS)?;
    let keys = tx.open_table(tables::USER_SORT_KEYS)?;
    let everyone = users.len()?;
    let found = match &query.search {
        None => in_order(tx, &keys, query, everyone)?,
        Some(term) => {
            let grams = tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?;
            let term_grams = term.grams();
            let mut rarest: Option<(u64, &String)> = None;
            for gram in &term_grams {
                let n = grams.get(gram.as_str())?.len();
                if rarest.is_none_or(|(m, _)| n < m) {
                    rarest = Some((n, gram));
                }
            }
            match rarest {
                None | Some((0, _)) => Found {
                    ids: Vec::new(),
                    total: Some(0),
                    page: 1,
                },
                Some((n, _)) if term.is_single_gram() && n == everyone => {
                    in_order(tx, &keys, query, everyone)?
                }
                Some((n, gram)) => {
                    let exact = term.is_single_gram().then_some(n);
                    let query = clamped(query, exact);
                    // Steps a walk takes if the matches are spread evenly.
                    let expected = (query.offset() + u64::from(query.per_page) + 1)
                        .saturating_mul(everyone)
                        / n;
                    let fetchable = exact.is_some() || n <= FETCH_LIMIT;
                    let walked = if !fetchable {
                        walk_in_order(&keys, &query, term, exact, None)?
                    } else if expected.saturating_mul(WALK_SLACK) < n.saturating_mul(FETCH_COST) {
                        // Matches can bunch up in the order (a first name,
                        // listed by name): the walk may spend what a fetch
                        // would cost, then fetches after all.
                        let budget = n.saturating_mul(FETCH_COST).max(MIN_WALK);
                        walk_in_order(&keys, &query, term, exact, Some(budget))?
                    } else {
                        None
                    };
                    match walked {
                        // Past the end, and the walk counted: show the last page.
                        Some(found)
                            if found.ids.is_empty() && found.total.is_some_and(|t| t > 0) =>
                        {
                            let last = clamped(&query, found.total);
                            walk_in_order(&keys, &last, term, exact, None)?.unwrap_or(found)
                        }
                        Some(found) => found,
                        None => {
                            let ids: Vec<UserId> = grams
                                .get(gram.as_str())?
                                .map(|id| id.map(|id| id.value()))
                                .collect::<Result<_, _>>()?;
                            fetch_and_sort(tx, &query, term, ids)?
                        }
                    }
                }
            }
        }
    };
    let per_page = query.per_page as usize;
    let has_more = found.ids.len() > per_page;
    let mut listed = Vec::with_capacity(per_page);
    for id in found.ids.iter().take(per_page) {
        listed.extend(User::from_found(users.get(*id)?)?);
    }
    Ok(UserPage {
        users: listed,
        total: found.total,
        has_more,
        page: found.page,
    })
}

/// The query moved to the last page when it asks past the end.
fn clamped(query: &UserQuery, total: Option<u64>) -> UserQuery {
    let per_page = u64::from(query.per_page.max(1));
    let mut query = query.clone();
    query.page = query.page.max(1);
    if let Some(total) = total {
        let last = total.div_ceil(per_page).max(1);
        query.page = query.page.min(u32::try_from(last).unwrap_or(u32::MAX));
    }
    query
}

/// Everyone, in order: jump over whole blocks to the page's first entry.
fn in_order(
    tx: &ReadTransaction,
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    query: &UserQuery,
    everyone: u64,
) -> Result<Found, StoreError> {
    let query = clamped(query, Some(everyone));
    let col = column_byte(query.sort);
    let (lo, hi) = ([col], [col + 1]);
    let blocks = tx.open_table(tables::USER_SORT_BLOCKS)?;
    let mut skip = query.offset();
    let take = query.per_page as usize + 1;
    let ids = if query.descending {
        // Find the block holding the entry `skip` places from the end; the
        // walk starts below the next block's start.
        let mut upper = hi.to_vec();
        for block in blocks.range::<&[u8]>(lo.as_slice()..hi.as_slice())?.rev() {
            let (start, n) = block?;
            if skip < n.value() {
                break;
            }
            skip -= n.value();
            upper = start.value().to_vec();
        }
        collect_ids(
            keys.range::<&[u8]>(lo.as_slice()..upper.as_slice())?.rev(),
            skip,
            take,
        )?
    } else {
        let mut from = lo.to_vec();
        for block in blocks.range::<&[u8]>(lo.as_slice()..hi.as_slice())? {
            let (start, n) = block?;
            from = start.value().to_vec();
            if skip < n.value() {
                break;
            }
            skip -= n.value();
        }
        collect_ids(
            keys.range::<&[u8]>(from.as_slice()..hi.as_slice())?,
            skip,
            take,
        )?
    };
    Ok(Found {
        ids,
        total: Some(everyone),
        page: query.page,
    })
}

type Entry<'a> = (
    redb::AccessGuard<'a, &'static [u8]>,
    redb::AccessGuard<'a, &'static [u8]>,
);

fn collect_ids<'a>(
    entries: impl Iterator<Item = Result<Entry<'a>, redb::StorageError>>,
    skip: u64,
    take: usize,
) -> Result<Vec<UserId>, StoreError> {
    entries
        .skip(skip as usize)
        .take(take)
        .map(|entry| id_of_entry(entry?.0.value()))
        .collect()
}

/// Walks the column in order, keeping the entries whose name or email
/// matches, until the page (and one more) is found; then, if the total is
/// not known, counts on for at most [`COUNT_BUDGET`] entries. With a
/// `budget`, gives up (`None`) after that many entries short of a full page.
fn walk_in_order(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    query: &UserQuery,
    term: &crate::domain::SearchTerm,
    exact: Option<u64>,
    budget: Option<u64>,
) -> Result<Option<Found>, StoreError> {
    let col = column_byte(query.sort);
    let range = keys.range::<&[u8]>([col].as_slice()..[col + 1].as_slice())?;
    let entries: Box<dyn Iterator<Item = _>> = if query.descending {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    let offset = query.offset();
    let want = query.per_page as usize + 1;
    let mut matched = 0u64;
    let mut ids = Vec::with_capacity(want);
    let mut count_budget = COUNT_BUDGET;
    let mut finished = true;
    for (walked, entry) in (1u64..).zip(entries) {
        if ids.len() < want && budget.is_some_and(|b| walked > b) {
            return Ok(None);
        }
        let (key, text) = entry?;
        let text = std::str::from_utf8(text.value()).map_err(|_| StoreError::Corrupt {
            table: "user_sort_keys",
            reason: "not UTF-8".into(),
        })?;
        if ids.len() == want {
            if exact.is_some() {
                break;
            }
            if count_budget == 0 {
                finished = false;
                break;
            }
            count_budget -= 1;
        }
        if !joined_matches(text, term) {
            continue;
        }
        if matched >= offset && ids.len() < want {
            ids.push(id_of_entry(key.value())?);
        }
        matched += 1;
    }
    Ok(Some(Found {
        ids,
        total: exact.or(finished.then_some(matched)),
        page: query.page,
    }))
}

/// Reads the candidates' rows, keeps those that match, sorts them.
fn fetch_and_sort(
    tx: &ReadTransaction,
    query: &UserQuery,
    term: &crate::domain::SearchTerm,
    candidates: Vec<UserId>,
) -> Result<Found, StoreError> {
    let rows = tx.open_table(tables::USER_INDEX_ROWS)?;
    let confirm = !term.is_single_gram();
    let mut hits: Vec<(Vec<u8>, UserId)> = Vec::with_capacity(candidates.len());
    for id in candidates {
        let Some(bytes) = rows.get(id)? else { continue };
        let row = RowParts::read(bytes.value())?;
        if confirm && !fields_match(row.name()?, row.email()?, term) {
            continue;
        }
        hits.push((row.key(query.sort).to_vec(), id));
    }
    hits.sort_unstable();
    if query.descending {
        hits.reverse();
    }
    let total = hits.len() as u64;
    let query = clamped(query, Some(total));
    let ids = hits
        .into_iter()
        .skip(query.offset() as usize)
        .take(query.per_page as usize + 1)
        .map(|(_, id)| id)
        .collect();
    Ok(Found {
        ids,
        total: Some(total),
        page: query.page,
    })
}

/// Builds the whole index from the users table (schema 4, and repairs).
pub(super) fn rebuild(tx: &WriteTransaction) -> Result<u64, StoreError> {
    tx.delete_table(tables::USER_INDEX_ROWS)?;
    tx.delete_multimap_table(tables::USER_SEARCH_GRAMS)?;
    tx.delete_table(tables::USER_SORT_KEYS)?;
    tx.delete_table(tables::USER_SORT_BLOCKS)?;
    let users: Vec<User> = tx
        .open_table(tables::USERS)?
        .iter()?
        .map(|entry| User::from_bytes(entry?.1.value()))
        .collect::<Result<_, _>>()?;
    for user in &users {
        reindex(tx, user.id, Some(user))?;
    }
    Ok(users.len() as u64)
}

/// Compares the index with the users it describes, for `check-store`:
/// every row, gram, sort key and block count, and the holders of Global
/// Administrator as the Roles order lists them. Entries of `unreadable`
/// users are left alone (their records are reported already). Both sides
/// are walked in order, one column at a time, so memory stays about the
/// size of the index.
pub(super) fn verify(
    tx: &ReadTransaction,
    users: &BTreeMap<UserId, User>,
    unreadable: &BTreeSet<UserId>,
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let expected: BTreeMap<UserId, Row> = users.iter().map(|(id, u)| (*id, Row::of(u))).collect();

    let rows = tx.open_table(tables::USER_INDEX_ROWS)?;
    let mut seen = BTreeSet::new();
    for entry in rows.iter()? {
        let (id, bytes) = entry?;
        let id = id.value();
        if unreadable.contains(&id) {
            continue;
        }
        seen.insert(id);
        let table = "user_index_rows";
        match (expected.get(&id), Row::decode(bytes.value())) {
            (None, _) => problems.add(table, format!("a row for user {id}, who does not exist")),
            (Some(_), Err(e)) => {
                problems.add(table, format!("the row of user {id} can't be read: {e}"))
            }
            (Some(want), Ok(row)) if row != *want => {
                problems.add(table, format!("the row of user {id} is out of date"));
            }
            _ => {}
        }
    }
    for id in expected.keys().filter(|id| !seen.contains(id)) {
        problems.add("user_index_rows", format!("no row for user {id}"));
    }

    // Ids go in ascending, so each gram's list comes out sorted, as redb
    // keeps a multimap's values.
    let mut want: BTreeMap<String, Vec<UserId>> = BTreeMap::new();
    for (id, row) in &expected {
        for gram in row.text.grams() {
            want.entry(gram).or_default().push(*id);
        }
    }
    let grams = tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?;
    let mut gram_problem = |gram: &str, id: UserId, missing: bool| {
        let what = if missing {
            format!("{gram:?} lacks user {id}")
        } else {
            format!("{gram:?} lists user {id}, whose name and email don't have it")
        };
        problems.add("user_search_grams", what);
    };
    for entry in redb::ReadableMultimapTable::iter(&grams)? {
        let (gram, ids) = entry?;
        let gram = gram.value().to_owned();
        let mut stored = Vec::new();
        for id in ids {
            let id = id?.value();
            if !unreadable.contains(&id) {
                stored.push(id);
            }
        }
        let wanted = want.remove(&gram).unwrap_or_default();
        let (missing, extra) = sorted_difference(&wanted, &stored);
        for id in missing {
            gram_problem(&gram, id, true);
        }
        for id in extra {
            gram_problem(&gram, id, false);
        }
    }
    for (gram, ids) in want {
        for id in ids {
            gram_problem(&gram, id, true);
        }
    }

    let keys = tx.open_table(tables::USER_SORT_KEYS)?;
    let blocks = tx.open_table(tables::USER_SORT_BLOCKS)?;
    for sort in UserSort::ALL {
        verify_column(&keys, &blocks, sort, &expected, unreadable, problems)?;
    }

    let listed: BTreeSet<UserId> = global_administrators(&keys)?
        .into_iter()
        .filter(|id| !unreadable.contains(id))
        .collect();
    let holders: BTreeSet<UserId> = users
        .values()
        .filter(|u| u.is_global_administrator())
        .map(|u| u.id)
        .collect();
    for id in holders.difference(&listed) {
        problems.add(
            "role holders",
            format!("user {id} holds Global Administrator, but the index doesn't list them"),
        );
    }
    for id in listed.difference(&holders) {
        problems.add(
            "role holders",
            format!("the index lists user {id} as Global Administrator, but their record doesn't hold it"),
        );
    }
    Ok(())
}

/// One column's sort keys against the users, and its blocks' counts
/// against the keys they start.
fn verify_column(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    blocks: &impl ReadableTable<&'static [u8], u64>,
    sort: UserSort,
    expected: &BTreeMap<UserId, Row>,
    unreadable: &BTreeSet<UserId>,
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let col = column_byte(sort);
    let (lo, hi) = ([col], [col + 1]);
    let mut want: Vec<(Vec<u8>, String)> = expected
        .iter()
        .map(|(id, row)| (sort_entry(sort, row.key(sort), *id), row.text.joined()))
        .collect();
    want.sort_unstable();

    let starts: Vec<(Vec<u8>, u64)> = blocks
        .range::<&[u8]>(lo.as_slice()..hi.as_slice())?
        .map(|entry| entry.map(|(k, n)| (k.value().to_vec(), n.value())))
        .collect::<Result<_, _>>()?;
    let mut counts = vec![0u64; starts.len()];
    let mut before_first = 0u64;
    let mut next_block = 0;

    let mut stored: Vec<(Vec<u8>, String)> = Vec::new();
    for entry in keys.range::<&[u8]>(lo.as_slice()..hi.as_slice())? {
        let (key, text) = entry?;
        let key = key.value();
        while next_block < starts.len() && starts[next_block].0.as_slice() <= key {
            next_block += 1;
        }
        match next_block.checked_sub(1) {
            Some(block) => counts[block] += 1,
            None => before_first += 1,
        }
        let Ok(id) = id_of_entry(key) else {
            problems.add(
                "user_sort_keys",
                format!("an entry of the {sort:?} order is too short"),
            );
            continue;
        };
        if unreadable.contains(&id) {
            continue;
        }
        match std::str::from_utf8(text.value()) {
            Ok(text) => stored.push((key.to_vec(), text.to_owned())),
            Err(_) => problems.add(
                "user_sort_keys",
                format!("the entry of user {id} in the {sort:?} order is not UTF-8"),
            ),
        }
    }
    let want_keys: Vec<&[u8]> = want.iter().map(|(k, _)| k.as_slice()).collect();
    let stored_keys: Vec<&[u8]> = stored.iter().map(|(k, _)| k.as_slice()).collect();
    let (missing, extra) = sorted_difference(&want_keys, &stored_keys);
    for key in missing {
        let id = id_of_entry(key)?;
        problems.add(
            "user_sort_keys",
            format!("user {id} is missing from the {sort:?} order, or sits in the wrong place"),
        );
    }
    for key in extra {
        let id = id_of_entry(key)?;
        let what = if expected.contains_key(&id) {
            "a stale entry of"
        } else {
            "an entry for"
        };
        let who = if expected.contains_key(&id) {
            format!("user {id}")
        } else {
            format!("user {id}, who does not exist,")
        };
        problems.add(
            "user_sort_keys",
            format!("{what} {who} in the {sort:?} order"),
        );
    }
    // Entries on both sides: the name and email beside them must be current.
    let mut by_key: BTreeMap<&[u8], &str> = BTreeMap::new();
    for (key, text) in &stored {
        by_key.insert(key.as_slice(), text.as_str());
    }
    for (key, text) in &want {
        if by_key
            .get(key.as_slice())
            .is_some_and(|found| found != text)
        {
            let id = id_of_entry(key)?;
            problems.add(
                "user_sort_keys",
                format!(
                    "the name and email beside user {id} in the {sort:?} order are out of date"
                ),
            );
        }
    }

    if before_first > 0 {
        problems.add(
            "user_sort_blocks",
            format!("{before_first} entries of the {sort:?} order lie before its first block"),
        );
    }
    for ((start, n), counted) in starts.iter().zip(&counts) {
        if n != counted {
            let at = if start.len() == 1 {
                "first block".to_owned()
            } else {
                format!("block at user {}", id_of_entry(start).map_or(0, |id| id))
            };
            problems.add(
                "user_sort_blocks",
                format!("the {at} of the {sort:?} order counts {n} entries but holds {counted}"),
            );
        }
    }
    Ok(())
}

/// What the index says, recomputed from scratch, for tests to compare.
#[cfg(test)]
pub(super) fn snapshot(tx: &ReadTransaction) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for entry in tx.open_table(tables::USER_INDEX_ROWS)?.iter()? {
        let (id, row) = entry?;
        out.push(format!(
            "row {} {:?}",
            id.value(),
            Row::decode(row.value())?
        ));
    }
    let grams = tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?;
    for entry in redb::ReadableMultimapTable::iter(&grams)? {
        let (gram, ids) = entry?;
        let ids: std::collections::BTreeSet<u64> = ids
            .map(|id| id.map(|id| id.value()))
            .collect::<Result<_, _>>()?;
        out.push(format!("gram {:?} {ids:?}", gram.value()));
    }
    for entry in tx.open_table(tables::USER_SORT_KEYS)?.iter()? {
        let (key, text) = entry?;
        out.push(format!("key {:?} {:?}", key.value(), text.value()));
    }
    // Blocks are checked for their sum, not their cut points, which
    // depend on the order of changes.
    let mut sums = std::collections::BTreeMap::new();
    for entry in tx.open_table(tables::USER_SORT_BLOCKS)?.iter()? {
        let (start, n) = entry?;
        *sums.entry(start.value()[0]).or_insert(0) += n.value();
    }
    sums.retain(|_, n| *n > 0);
    out.push(format!("block sums {sums:?}"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AccountSettings, Email, PersonName, SearchTerm, UserStatus, user_search::SearchText,
    };
    use crate::store::{NewUser, Store};

    /// A small deterministic generator (xorshift), so failures repeat.
    struct Dice(u64);

    impl Dice {
        fn roll(&mut self, sides: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % sides as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.roll(from.len())]
        }
    }

    const FIRST: [&str; 8] = ["Emma", "Ada", "Émile", "Zoë", "Ann", "Anna", "Bob", "Mo"];
    const LAST: [&str; 7] = ["Wright", "Lovelace", "Brown", "O'Neil", "Li", "Lind", "Ng"];
    const DOMAINS: [&str; 3] = ["example.com", "mail.example.org", "corp.example.test"];

    fn new_user(dice: &mut Dice, n: usize) -> NewUser {
        let first = dice.pick(&FIRST);
        let last = dice.pick(&LAST);
        let email = format!("{}.{n}@{}", first.to_lowercase(), dice.pick(&DOMAINS));
        NewUser {
            first_name: PersonName::parse(first).unwrap(),
            last_name: PersonName::parse(last).unwrap(),
            email: Email::parse(&email).unwrap(),
            phone: None,
            status: if dice.roll(4) == 0 {
                UserStatus::Invited
            } else {
                UserStatus::Active
            },
            password_hash: None,
            roles: (0..dice.roll(3)).map(|_| 1 + dice.roll(3) as u64).collect(),
            created_at: 0,
        }
    }

    /// A store with `n` users, and the dice to change them further.
    fn store_with(n: usize) -> (tempfile::TempDir, Store, Dice) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        store
            .transact::<_, StoreError>(|t| {
                for i in 0..n {
                    let user = t.insert_user(new_user(&mut dice, i))?;
                    if dice.roll(2) == 0 {
                        record_sign_in_in(t, user.id, dice.roll(5) as i64)?;
                    }
                }
                Ok(())
            })
            .unwrap();
        (dir, store, dice)
    }

    fn record_sign_in_in(t: &crate::store::Txn<'_>, id: UserId, at: i64) -> Result<(), StoreError> {
        super::super::users::record_sign_in(t.tx, id, at)
    }

    /// The page by reading every user: what the index must agree with.
    fn brute_force(store: &Store, query: &UserQuery) -> (Vec<UserId>, u64) {
        let mut all: Vec<(Vec<u8>, UserId)> = store
            .users()
            .unwrap()
            .iter()
            .filter(|u| {
                query
                    .search
                    .as_ref()
                    .is_none_or(|t| SearchText::of(u).matches(t))
            })
            .map(|u| (query.sort.key_of(u), u.id))
            .collect();
        all.sort();
        if query.descending {
            all.reverse();
        }
        let total = all.len() as u64;
        let ids = all
            .into_iter()
            .skip(query.offset() as usize)
            .take(query.per_page as usize)
            .map(|(_, id)| id)
            .collect();
        (ids, total)
    }

    fn check_queries(store: &Store) {
        let everyone = store.user_count().unwrap();
        let terms = [
            None,
            Some("a"),
            Some("e"),
            Some("wr"),
            Some("zo"),
            Some("é"),
            Some("ann"),
            Some("com"),
            Some("exam"),
            Some("example"),
            Some("ma wr"),
            Some("li"),
            Some("o'n"),
            Some(".1"),
            Some("exa"),
            Some("rp.ex"),
            Some("12@"),
            Some("xyz"),
            Some("@"),
            Some("n"),
        ];
        for term in terms {
            for sort in UserSort::ALL {
                for descending in [false, true] {
                    for page in [1, 2, 3, 7, 40] {
                        let query = UserQuery {
                            search: term.and_then(SearchTerm::parse),
                            sort,
                            descending,
                            page,
                            per_page: 10,
                        };
                        let found = store.user_page(&query).unwrap();
                        let shown = UserQuery {
                            page: found.page,
                            ..query.clone()
                        };
                        let (ids, total) = brute_force(store, &shown);
                        let got: Vec<UserId> = found.users.iter().map(|u| u.id).collect();
                        let context = format!("{term:?} {sort:?} desc={descending} page={page}");
                        assert_eq!(got, ids, "{context}");
                        if let Some(t) = found.total {
                            assert_eq!(t, total, "{context}");
                        } else {
                            assert!(total > 10, "an unknown total is a large one: {context}");
                        }
                        assert_eq!(found.has_more, shown.offset() + 10 < total, "{context}");
                        assert!(found.page <= page.max(1), "{context}");
                        if total > 0 && found.total.is_some() {
                            assert!(shown.offset() < total, "clamped to a real page: {context}");
                        }
                    }
                }
            }
        }
        assert!(everyone > 0);
    }

    fn index_as_rebuilt(store: &Store) -> (Vec<String>, Vec<String>) {
        let kept = store.read(snapshot).unwrap();
        store.write(|tx| rebuild(tx).map(|_| ())).unwrap();
        (kept, store.read(snapshot).unwrap())
    }

    #[test]
    fn searches_and_pages_agree_with_reading_every_user() {
        let (_dir, store, _) = store_with(300);
        check_queries(&store);
    }

    #[test]
    fn the_index_follows_updates_and_deletions() {
        let (_dir, store, mut dice) = store_with(200);
        store
            .transact::<_, StoreError>(|t| {
                for round in 0..300 {
                    let id = 1 + dice.roll(200) as u64;
                    match dice.roll(5) {
                        0 => {
                            t.delete_user(id)?;
                        }
                        1 => record_sign_in_in(t, id, 100 + round)?,
                        _ => {
                            let Some(mut user) = t.user(id)? else {
                                continue;
                            };
                            let other = new_user(&mut dice, 1000 + round as usize);
                            match dice.roll(4) {
                                0 => user.first_name = other.first_name,
                                1 => user.email = other.email,
                                2 => user.roles = other.roles,
                                _ => user.status = other.status,
                            }
                            super::super::users::put_user(t.tx, &user)?;
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
        let (kept, rebuilt) = index_as_rebuilt(&store);
        assert_eq!(kept, rebuilt);
        check_queries(&store);
        // Deleting everyone leaves nothing behind but empty first blocks.
        store
            .transact::<_, StoreError>(|t| {
                for id in 1..=200 {
                    t.delete_user(id)?;
                }
                Ok(())
            })
            .unwrap();
        let left = store.read(snapshot).unwrap();
        assert_eq!(left, ["block sums {}"]);
        let empty = store.user_page(&UserQuery::default()).unwrap();
        assert!(empty.users.is_empty() && empty.total == Some(0) && !empty.has_more);
    }

    #[test]
    fn matches_bunched_up_in_the_order_are_found_by_fetching() {
        // 2 000 Aarons, then 200 Zeds: in name order a walk for "zed" meets
        // none until the end, gives up and fetches instead.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        store
            .transact::<_, StoreError>(|t| {
                for i in 0..2200 {
                    let first = if i < 2000 { "Aaron" } else { "Zed" };
                    t.insert_user(NewUser {
                        first_name: PersonName::parse(first).unwrap(),
                        last_name: PersonName::parse("Park").unwrap(),
                        email: Email::parse(&format!("u{i}@example.com")).unwrap(),
                        phone: None,
                        status: UserStatus::Active,
                        password_hash: None,
                        roles: Vec::new(),
                        created_at: 0,
                    })?;
                }
                Ok(())
            })
            .unwrap();
        for descending in [false, true] {
            for page in [1, 5, 20] {
                let query = UserQuery {
                    search: SearchTerm::parse("zed"),
                    descending,
                    page,
                    per_page: 10,
                    ..Default::default()
                };
                let found = store.user_page(&query).unwrap();
                let (ids, total) = brute_force(&store, &query);
                let got: Vec<UserId> = found.users.iter().map(|u| u.id).collect();
                assert_eq!(got, ids, "desc={descending} page={page}");
                assert_eq!(found.total, Some(total));
                assert_eq!(total, 200);
            }
        }
    }

    #[test]
    fn global_administrators_are_read_from_the_roles_order() {
        let (_dir, store, _) = store_with(120);
        let expected: Vec<UserId> = store
            .users()
            .unwrap()
            .iter()
            .filter(|u| u.is_global_administrator())
            .map(|u| u.id)
            .collect();
        let mut found = store
            .read(|tx| global_administrators(&tx.open_table(tables::USER_SORT_KEYS)?))
            .unwrap();
        found.sort_unstable();
        assert!(!expected.is_empty());
        assert_eq!(found, expected);
    }
}
