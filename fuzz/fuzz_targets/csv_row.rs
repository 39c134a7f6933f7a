//! Fuzzes `csvfmt::parse_row` on records read by the `csv` crate from arbitrary bytes, and
//! checks that every accepted row survives export and re-import unchanged.
#![no_main]

use eid_store::csvfmt;
use libfuzzer_sys::fuzz_target;
use time::macros::date;
use time::Date;

const TODAY: Date = date!(2026 - 11 - 23);

fuzz_target!(|data: &[u8]| {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
    let mut record = csv::ByteRecord::new();
    // Bounded: a few hundred records is plenty per input.
    for _ in 0..256 {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
        let fields: Vec<&str> = match record.iter().map(std::str::from_utf8).collect::<Result<_, _>>() {
            Ok(f) => f,
            Err(_) => continue, // not UTF-8: the importer refuses such a file before parse_row
        };
        // The header check must never panic either.
        let _ = csvfmt::check_header(&fields);
        let Ok(person) = csvfmt::parse_row(&fields, TODAY) else { continue };

        // Round trip 1: the exported fields re-parse to the same person.
        let out = csvfmt::fields(&person);
        let refs: Vec<&str> = out.iter().map(String::as_str).collect();
        let again = csvfmt::parse_row(&refs, TODAY)
            .unwrap_or_else(|e| panic!("exported row does not re-import: {e}\nrow: {out:?}"));
        assert_eq!(again, person, "exported row re-imports as another person\nrow: {out:?}");
        // Export is a fixed point.
        assert_eq!(csvfmt::fields(&again), out, "export of the re-imported person differs");

        // Round trip 2: through the csv writer and reader, as `eid export` | `eid import` do.
        let mut w = csv::Writer::from_writer(Vec::new());
        csvfmt::write_person(&mut w, &person).unwrap_or_else(|e| panic!("write_person: {e}"));
        let bytes = w.into_inner().unwrap_or_else(|e| panic!("flush: {e}"));
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
        let rec = r
            .records()
            .next()
            .unwrap_or_else(|| panic!("written row reads back as no record"))
            .unwrap_or_else(|e| panic!("written row does not read back: {e}"));
        let fields2: Vec<&str> = rec.iter().collect();
        assert_eq!(fields2, refs, "csv writer/reader changed the fields");
    }
});
