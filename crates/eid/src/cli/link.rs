//! `eid gen sector` (a noisy sector copy of a person file, with its truth) and `eid link …`
//! (sector files against the register).

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use eid_core::linkage::files::{read_register, read_sector, Mapping};
use eid_core::linkage::{Linker, Thresholds};

use super::out::errln;
use super::*;

fn open(path: &std::path::Path) -> Result<BufReader<std::fs::File>, Failure> {
    Ok(BufReader::new(std::fs::File::open(path).map_err(|e| {
        format!("cannot open {}: {e}", path.display())
    })?))
}

fn create(path: &std::path::Path) -> Result<BufWriter<std::fs::File>, Failure> {
    Ok(BufWriter::new(std::fs::File::create(path).map_err(
        |e| format!("cannot create {}: {e}", path.display()),
    )?))
}

pub(super) fn gen_sector(args: &GenSectorArgs) -> Result<(), Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(open(&args.persons)?);
    let today = today();
    let mut persons = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row?;
        let fields: Vec<&str> = row.iter().collect();
        let p = eid_core::csvfmt::parse_row(&fields, today)
            .map_err(|e| format!("{} line {}: {e}", args.persons.display(), n + 2))?;
        persons.push(p);
    }
    let rows = eid_gen::sector::sector_copy(&persons, args.seed);
    let mut w = csv::Writer::from_writer(create(&args.out)?);
    w.write_record(eid_gen::sector::SECTOR_COLUMNS)?;
    for r in &rows {
        w.write_record(r.fields())?;
    }
    w.flush()?;
    let mut t = csv::Writer::from_writer(create(&args.truth)?);
    t.write_record(["row_id", "personal_id"])?;
    for r in &rows {
        t.write_record([r.row_id.as_str(), r.truth.as_str()])?;
    }
    t.flush()?;
    outln!("{} sector rows from {} persons", rows.len(), persons.len())
}

pub(super) fn link_run(args: &LinkRunArgs) -> Result<(), Failure> {
    let mapping = match &args.mapping {
        Some(m) => Mapping::parse(m)?,
        None => Mapping::identity(),
    };
    let thresholds = thresholds(args.matched, args.review)?;
    let today = today();
    let start = Instant::now();
    let (register_file, sector_file) = (open(&args.register)?, open(&args.sector)?);
    // The two files are read at once, one on each core; the register's index is built while
    // the (slower) sector file is still being read.
    let (register, sector, register_read, indexed) = std::thread::scope(|s| {
        let sector = s.spawn(|| read_sector(sector_file, &mapping, today));
        let register = read_register(register_file, today);
        let register_read = start.elapsed();
        let register = register.map(|(ids, records, skipped)| (ids, Linker::new(records), skipped));
        let indexed = start.elapsed();
        let sector = sector
            .join()
            .unwrap_or_else(|_| Err("the sector file's reader failed".to_owned()));
        (register, sector, register_read, indexed)
    });
    let (ids, linker, skipped) = register?;
    let (mut rows, rejected) = sector?;
    let read = start.elapsed();
    // The rows' records move out (the rows keep their IDs for the output).
    let records: Vec<_> = rows
        .iter_mut()
        .map(|r| std::mem::take(&mut r.record))
        .collect();
    let model = linker.train(&records, args.sample);
    let trained = start.elapsed();
    let decisions = linker.decide_all(&model, &thresholds, &records, args.threads.max(1));
    let decided = start.elapsed();
    let mut w = csv::Writer::from_writer(create(&args.out)?);
    w.write_record([
        "row_id",
        "outcome",
        "method",
        "personal_id",
        "alternative_id",
        "score",
    ])?;
    let id_of = |i: Option<u32>| {
        i.and_then(|i| ids.get(i as usize))
            .map_or("", String::as_str)
    };
    let mut counts = std::collections::BTreeMap::new();
    for (row, d) in rows.iter().zip(&decisions) {
        *counts.entry(d.outcome.as_str()).or_insert(0u64) += 1;
        let score = if d.score.is_finite() {
            format!("{:.2}", d.score)
        } else {
            String::new()
        };
        w.write_record([
            row.row_id.as_str(),
            d.outcome.as_str(),
            d.method.as_str(),
            id_of(d.person),
            id_of(d.alternative),
            score.as_str(),
        ])?;
    }
    w.flush()?;
    errln!(
        "register {} ({} skipped), sector {} ({} rejected); read {:.2}s (register {:.2}s, then its index {:.2}s beside the sector file), EM {:.2}s ({} iterations), decide {:.2}s, total {:.2}s",
        linker.register().len(),
        skipped,
        rows.len(),
        rejected.len(),
        read.as_secs_f64(),
        register_read.as_secs_f64(),
        (indexed - register_read).as_secs_f64(),
        (trained - read).as_secs_f64(),
        model.iterations,
        (decided - trained).as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    if args.show_model {
        errln!(
            "model: lambda {:.3e}, outside the candidates {:.4}, prior {:.2} bits",
            model.lambda,
            model.outside.unwrap_or(1.0 - model.lambda),
            model.prior()
        );
        for f in eid_core::linkage::matcher::compare::FIELDS {
            let levels: Vec<String> = (1..f.levels().len())
                .map(|l| {
                    let l = l as u8;
                    format!("{} {:+.2}", f.level_name(l), model.weight(f, l))
                })
                .collect();
            errln!("  {}: {}", f.as_str(), levels.join(", "));
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    outln!("{}", summary.join(", "))
}

pub(super) fn thresholds(matched: f64, review: f64) -> Result<Thresholds, Failure> {
    if !(0.0..=1.0).contains(&review) || !(0.0..=1.0).contains(&matched) || review > matched {
        return Err("thresholds: need 0 ≤ --review ≤ --matched ≤ 1".into());
    }
    Ok(Thresholds { matched, review })
}

pub(super) fn link_source(config: &Config, args: &LinkSourceArgs) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let mapping = Mapping::parse(&args.mapping)?;
    let source = eid_core::linkage::service::Source {
        name: args.name.clone(),
        kind: args.kind.clone(),
        mapping,
    };
    eid_core::linkage::service::define_source(
        store.as_ref(),
        &Actor::Cli("link".to_owned()),
        now(),
        &source,
    )?;
    outln!("source {} saved", source.name)
}

pub(super) fn link_import(config: &Config, args: &LinkImportArgs) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let thresholds = thresholds(args.matched, args.review)?;
    let received = match &args.received {
        Some(d) => eid_domain::parse_iso_date(d.trim())
            .ok_or_else(|| format!("--received: {d} is not YYYY-MM-DD"))?,
        None => today(),
    };
    let report_path = args.report.clone().unwrap_or_else(|| {
        let mut p = args.file.clone().into_os_string();
        p.push(".rejected.csv");
        p.into()
    });
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(&args.file)
        .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
    // The same job the console runs, here in the foreground: a run stopped half-way is
    // resumed by the next `eid serve` from its last committed slice.
    let spec = eid_core::linkage::job::JobSpec {
        source: args.source.clone(),
        file_name,
        received_on: received,
        thresholds,
    };
    let actor = Actor::Cli("link".to_owned());
    let id = eid_core::linkage::job::submit(store.as_ref(), &actor, now(), &spec, &bytes)?;
    drop(bytes);
    let job = eid_core::linkage::job::run(
        store.as_ref(),
        id,
        &now,
        eid_core::linkage::job::SLICE,
        &mut |_| true,
    )?;
    if job.state != "done" {
        return Err(format!(
            "job {id} ended {}{}",
            job.state,
            job.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        )
        .into());
    }
    let summary = eid_core::linkage::job::summary(&job);
    let rejected = eid_core::linkage::job::rejected(store.as_ref(), id)?;
    if !rejected.is_empty() {
        let mut w = csv::Writer::from_writer(create(&report_path)?);
        w.write_record(["line", "column", "reason"])?;
        for r in &rejected {
            w.write_record([
                r.line.to_string().as_str(),
                r.column.as_str(),
                r.reason.as_str(),
            ])?;
        }
        w.flush()?;
        for r in rejected.iter().take(5) {
            errln!("line {}: {}: {}", r.line, r.column, r.reason);
        }
        errln!(
            "{} rejected rows written to {}",
            rejected.len(),
            report_path.display()
        );
    }
    let [matched, conflict, review, unmatched] = summary.outcomes;
    outln!(
        "batch {}: {} rows, {} rejected; matched {matched}, conflict {conflict}, review {review}, unmatched {unmatched}; {} verified; {} proposed",
        summary.batch_id,
        summary.rows,
        summary.rejected,
        summary.verified,
        summary.proposed
    )
}

pub(super) fn link_dedupe(config: &Config, args: &LinkDedupeArgs) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let thresholds = thresholds(args.matched, args.review)?;
    let started = Instant::now();
    let s = eid_core::linkage::dedupe::run(
        store.as_ref(),
        &Actor::Cli("link".to_owned()),
        now(),
        &thresholds,
    )?;
    outln!(
        "{} persons: {} suspected duplicate pairs, {} new merge proposals; {} persons with missing fields ({:.1} s)",
        s.persons,
        s.pairs,
        s.proposed,
        s.incomplete,
        started.elapsed().as_secs_f64()
    )
}
