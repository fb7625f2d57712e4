// The page's entry module (/assets/app/main.js).
import { main } from './app.js';

main();
