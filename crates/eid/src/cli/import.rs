//! `eid import`, `eid export` and `eid gen`.

use super::*;

pub(super) fn import_persons(config: &Config, args: &ImportPersonsArgs) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let file = std::fs::File::open(&args.file)
        .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let report_path = args.report.clone().unwrap_or_else(|| {
        let mut p = args.file.clone().into_os_string();
        p.push(".rejected.csv");
        PathBuf::from(p)
    });
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let opts = ImportOptions {
        on_error: match args.on_error {
            OnErrorArg::Abort => OnError::Abort,
            OnErrorArg::Skip => OnError::Skip,
        },
        today: today(),
        now: now(),
        actor: Actor::Cli("import".to_owned()),
        reason: format!("import of {name}"),
    };

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    });

    let mut report: Option<csv::Writer<std::fs::File>> = None;
    let mut report_error: Option<String> = None;
    let mut first: Vec<Rejected> = Vec::new();
    let started = Instant::now();
    let result = eid_core::import::import_persons(
        store.as_ref(),
        std::io::BufReader::new(file),
        &opts,
        &mut |r: &Rejected| {
            if first.len() < 5 {
                first.push(r.clone());
            }
            if report.is_none() && report_error.is_none() {
                match csv::Writer::from_path(&report_path) {
                    Ok(mut w) => {
                        let _ = w.write_record(["line", "column", "reason"]);
                        report = Some(w);
                    }
                    Err(e) => {
                        report_error = Some(format!("cannot write {}: {e}", report_path.display()))
                    }
                }
            }
            if let Some(w) = report.as_mut() {
                if let Err(e) =
                    w.write_record([r.line.to_string().as_str(), r.column, r.reason.as_str()])
                {
                    report_error = Some(e.to_string());
                }
            }
        },
        &mut |bytes| {
            if let Some(b) = &bar {
                b.set_position(bytes);
            }
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(mut w) = report.take() {
        w.flush()?;
    }
    if let Some(e) = report_error {
        return Err(e.into());
    }
    let summary = result?;
    let report_shown = (summary.rejected > 0).then(|| report_path.display().to_string());
    if args.json {
        outln!(
            "{}",
            import_json(
                &summary,
                report_shown.as_deref(),
                started.elapsed().as_secs_f64()
            )
        )?;
    } else {
        print_import_summary(
            &summary,
            &first,
            report_shown.as_deref(),
            started.elapsed().as_secs_f64(),
        )?;
    }
    if summary.committed {
        Ok(())
    } else {
        Err(Failure {
            message: String::new(),
            code: 1,
        })
    }
}

/// The `--json` summary of an import: one object on one line.
pub fn import_json(s: &ImportSummary, report: Option<&str>, seconds: f64) -> serde_json::Value {
    serde_json::json!({
        "imported": s.imported,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "rejected": s.rejected,
        "rows": s.rows,
        "committed": s.committed,
        "report": report,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    })
}

pub(super) fn print_import_summary(
    s: &ImportSummary,
    first: &[Rejected],
    report: Option<&str>,
    seconds: f64,
) -> Result<(), Failure> {
    outln!(
        "{} rows in {seconds:.1} s: {} imported, {} updated, {} unchanged, {} rejected",
        s.rows,
        s.imported,
        s.updated,
        s.unchanged,
        s.rejected
    )?;
    for r in first {
        outln!("  line {}: {}: {}", r.line, r.column, r.reason)?;
    }
    if s.rejected > first.len() as u64 {
        outln!("  … and {} more", s.rejected - first.len() as u64)?;
    }
    if let Some(path) = report {
        outln!("rejected rows written to {path}")?;
    }
    if !s.committed {
        outln!("nothing was written: the file has bad rows (use --on-error skip to keep the good ones)")?;
    }
    Ok(())
}

pub(super) fn export_persons(config: &Config, args: &ExportPersonsArgs) -> Result<(), Failure> {
    let unit = Units::get().lookup(Tree::Gso2024, args.unit.trim())?.code;
    let store = open_store(&config.db)?;
    let n = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            eid_core::import::export_persons(store.as_ref(), &unit, std::io::BufWriter::new(file))?
        }
        None => {
            let (stream, closed) = out::Stream::new();
            eid_core::import::export_persons(store.as_ref(), &unit, stream).map_err(|e| {
                if closed.get() {
                    out::closed()
                } else {
                    Failure::from(e)
                }
            })?
        }
    };
    errln!("exported {n} persons");
    Ok(())
}

pub(super) fn gen_persons(args: &GenPersonsArgs) -> Result<(), Failure> {
    let province = match &args.province {
        Some(p) => Some(province_code(p)?),
        None => None,
    };
    let heavy = args
        .heavy
        .iter()
        .map(|p| province_code(p))
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = eid_gen::GenConfig {
        count: args.count.saturating_add(args.skip),
        seed: args.seed,
        province,
        today: today(),
    };
    let generator = eid_gen::Generator::nation(&cfg, &heavy, args.heavy_share)?
        .skip(usize::try_from(args.skip).unwrap_or(usize::MAX));
    let (out, closed): (Box<dyn Write>, _) = match &args.out {
        Some(path) => (
            Box::new(
                std::fs::File::create(path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
            ),
            None,
        ),
        None => {
            let (stream, closed) = out::Stream::new();
            (Box::new(stream), Some(closed))
        }
    };
    let stopped = |e: Failure| match &closed {
        Some(c) if c.get() => out::closed(),
        _ => e,
    };
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out));
    eid_core::csvfmt::write_header(&mut w).map_err(|e| stopped(e.into()))?;
    for p in generator {
        eid_core::csvfmt::write_person(&mut w, &p).map_err(|e| stopped(e.into()))?;
    }
    w.flush().map_err(|e| stopped(e.into()))?;
    Ok(())
}

pub(super) fn province_code(raw: &str) -> Result<UnitCode, Failure> {
    let unit = Units::get().lookup(Tree::Gso2024, raw.trim())?;
    if unit.level != Level::Province {
        return Err(format!("{} is a {}, not a province", unit.code, unit.level).into());
    }
    Ok(unit.code)
}
